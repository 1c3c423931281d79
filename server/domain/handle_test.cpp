#include "server/domain/handle.h"

#include <gtest/gtest.h>

namespace cercle::domain {
namespace {

std::string key_of(std::string_view h) {
  auto r = normalize_handle(h);
  EXPECT_TRUE(r.ok()) << h << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r->key : "";
}

TEST(Handle, AcceptsLettersOfAnyScriptDigitsAndSeparators) {
  for (std::string_view h :
       {"alice", "Éloïse_92", "pair.aidant-77", "Ангелина", "محمد", "李小龍"}) {
    auto r = normalize_handle(h);
    ASSERT_TRUE(r.ok()) << h << ": " << r.error().message;
    EXPECT_EQ(r->display, h);
  }
}

TEST(Handle, NormalisesToNfc) {
  // "é" as e + combining acute (NFD) becomes the single precomposed character.
  auto r = normalize_handle("Ele\xCC\x81onore");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->display, "El\xC3\xA9onore");
}

TEST(Handle, RejectsWithAMessageNamingTheRule) {
  struct Case {
    std::string_view handle;
    std::string_view words;
  } cases[] = {
      {"", "empty"},
      {"ab", "at least 3"},
      {"abcdefghijklmnopqrstuvwxyz0123456", "at most 32"},
      {"two words", "spaces"},
      {"_alice", "start with"},
      {"alice_", "end with"},
      {"al..ice", "follow each other"},
      {"ali@ce", "only letters"},
      {"ali\xE2\x80\x8B"
       "ce",
       "only letters"},  // Zero-width space.
      {"\xFF\xFEzz", "UTF-8"},
  };
  for (const auto& c : cases) {
    auto r = normalize_handle(c.handle);
    ASSERT_FALSE(r.ok()) << c.handle;
    EXPECT_EQ(r.error().code, Errc::kInvalidHandle);
    EXPECT_NE(r.error().message.find(c.words), std::string::npos) << r.error().message;
  }
}

TEST(Handle, LookAlikesShareOneKey) {
  const std::string alice = key_of("alice");
  EXPECT_EQ(key_of("Alice"), alice);
  EXPECT_EQ(key_of("ALICE"), alice);
  EXPECT_EQ(key_of("\xEF\xBC\xA1lice"), alice);  // Fullwidth A.
  EXPECT_EQ(key_of("\xD0\xB0lice"), alice);      // Cyrillic a.
  EXPECT_NE(key_of("alicia"), alice);
}

}  // namespace
}  // namespace cercle::domain

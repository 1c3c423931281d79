#include "server/push/vapid.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>

#include "server/push/base64url.h"

namespace cercle::push {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char name[] = "/tmp/cercle-vapid-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

struct Parsed {
  boost::json::object header;
  boost::json::object claims;
  std::string signing_input;
  std::string signature;
  std::string key;
};

// Reads `vapid t=<JWT>, k=<key>` the way a push service does.
Parsed parse(const std::string& value) {
  Parsed p;
  const auto comma = value.find(", k=");
  EXPECT_TRUE(value.starts_with("vapid t=") && comma != std::string::npos) << value;
  const std::string jwt = value.substr(8, comma - 8);
  p.key = base64url_decode(value.substr(comma + 4)).value_or("");
  const auto dot1 = jwt.find('.');
  const auto dot2 = jwt.rfind('.');
  p.header = boost::json::parse(base64url_decode(jwt.substr(0, dot1)).value_or("")).as_object();
  p.claims =
      boost::json::parse(base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)).value_or(""))
          .as_object();
  p.signing_input = jwt.substr(0, dot2);
  p.signature = base64url_decode(jwt.substr(dot2 + 1)).value_or("");
  return p;
}

TEST(Vapid, TheTokenIsAnEs256JwtThePushServiceCanVerify) {
  auto vapid = VapidKey::generate();
  ASSERT_TRUE(vapid.ok());
  auto header = vapid->authorization("https://push.example.net", "mailto:admin@cercle.example",
                                     1'800'000'000);
  ASSERT_TRUE(header.ok()) << header.error().message;
  const Parsed p = parse(*header);
  EXPECT_EQ(p.key, vapid->public_key());
  EXPECT_EQ(p.header.at("alg"), "ES256");
  EXPECT_EQ(p.header.at("typ"), "JWT");
  EXPECT_EQ(p.claims.at("aud"), "https://push.example.net");
  EXPECT_EQ(p.claims.at("exp").as_int64(), 1'800'000'000);
  EXPECT_EQ(p.claims.at("sub"), "mailto:admin@cercle.example");
  ASSERT_EQ(p.signature.size(), 64u);  // Raw r||s, not DER.
  auto pub = P256Key::from_public(p.key);
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(es256_verify(*pub, p.signing_input, p.signature));
  EXPECT_FALSE(es256_verify(*pub, p.signing_input + "x", p.signature));
}

TEST(Vapid, SubjectsAndAudiencesThatCouldBreakTheTokenAreRefused) {
  auto vapid = VapidKey::generate();
  ASSERT_TRUE(vapid.ok());
  for (const char* subject : {"admin@cercle.example", "http://cercle.example",
                              "mailto:", "mailto:a\"b@c", "mailto:a\\b@c", "mailto:a\nb@c"}) {
    auto r = vapid->authorization("https://push.example.net", subject, 1);
    ASSERT_FALSE(r.ok()) << subject;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
  EXPECT_TRUE(valid_subject("https://cercle.example/contact"));
  EXPECT_FALSE(vapid->authorization("https://a\"b", "mailto:a@b.example", 1).ok());
  EXPECT_FALSE(vapid->authorization("", "mailto:a@b.example", 1).ok());
}

TEST(Vapid, TheKeyIsMadeOnceKeptPrivateAndReadBackIdentically) {
  TempDir dir;
  const fs::path file = dir.path / "vapid.pem";
  auto first = VapidKey::load_or_create(file);
  ASSERT_TRUE(first.ok()) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = VapidKey::load_or_create(file);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->public_key(), first->public_key());
  // The reloaded private key signs what the first public key verifies.
  auto header = again->authorization("https://push.example.net", "mailto:a@b.example", 5);
  ASSERT_TRUE(header.ok());
  const Parsed p = parse(*header);
  auto pub = P256Key::from_public(first->public_key());
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(es256_verify(*pub, p.signing_input, p.signature));
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(Vapid, ADamagedKeyFileIsAnErrorNotANewKey) {
  TempDir dir;
  const fs::path file = dir.path / "vapid.pem";
  std::ofstream(file) << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  auto r = VapidKey::load_or_create(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find(file.string()), std::string::npos);
  std::ifstream in(file);
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_EQ(first_line, "-----BEGIN PRIVATE KEY-----");  // Left as it was for the admin.
}

TEST(Vapid, AMissingFolderIsAnError) {
  auto r = VapidKey::load_or_create("/nonexistent-cercle-folder/vapid.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace cercle::push

#include "client/sdk/local_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cercle::client {
namespace {

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("cercle-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(LocalStoreTest, ValuesAndLogsSurviveReopening) {
  {
    auto store = LocalStore::open(dir_, "correct horse");
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->put("conv/abc", "state one").ok());
    ASSERT_TRUE((*store)->put("conv/abc", "state two").ok());
    ASSERT_TRUE((*store)->append("history/abc", "bonjour").ok());
    ASSERT_TRUE((*store)->append("history/abc", "ça va ?").ok());
  }
  auto store = LocalStore::open(dir_, "correct horse");
  ASSERT_TRUE(store.ok());
  auto value = (*store)->get("conv/abc");
  ASSERT_TRUE(value.ok() && value->has_value());
  EXPECT_EQ(**value, "state two");
  EXPECT_FALSE((*store)->get("conv/other")->has_value());
  auto log = (*store)->read_log("history/abc");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, (std::vector<std::string>{"bonjour", "ça va ?"}));
  EXPECT_EQ((*store)->list("conv/"), std::vector<std::string>{"conv/abc"});
}

TEST_F(LocalStoreTest, OneUserAtATime) {
  auto first = LocalStore::open(dir_, "pw");
  ASSERT_TRUE(first.ok());
  auto second = LocalStore::open(dir_, "pw");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  first->reset();
  EXPECT_TRUE(LocalStore::open(dir_, "pw").ok());
}

TEST_F(LocalStoreTest, AWrongPassphraseIsRefusedCleanly) {
  ASSERT_TRUE(LocalStore::open(dir_, "right").ok());
  auto wrong = LocalStore::open(dir_, "wrong");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::kBadPassphrase);
}

TEST_F(LocalStoreTest, NothingIsStoredInTheClearAndTamperingIsDetected) {
  {
    auto store = LocalStore::open(dir_, "pw");
    ASSERT_TRUE((*store)->put("secret", "my private key material").ok());
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(data.find("private key"), std::string::npos) << entry.path();
  }
  // A value moved under another name does not open.
  std::filesystem::copy_file(dir_ + "/blobs/secret", dir_ + "/blobs/other");
  auto store = LocalStore::open(dir_, "pw");
  EXPECT_FALSE((*store)->get("other").ok());
  EXPECT_TRUE((*store)->get("secret").ok());
}

}  // namespace
}  // namespace cercle::client

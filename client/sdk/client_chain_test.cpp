// Client::Impl::check_chain: an account's device chain is pinned at first contact in the local
// store, the pin follows it as it grows, and a chain rolled back, missing or from another first
// link is refused with kRefused, as is an account without a chain; handles are signed in NFC, as
// the relay stores them.
#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>

#include "client/sdk/client_internal.h"

namespace cercle::client {
namespace {

struct Key {
  std::string pk = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
  std::string sk = std::string(crypto_sign_SECRETKEYBYTES, '\0');
  Key() {
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                        reinterpret_cast<unsigned char*>(sk.data()));
  }
};

v1::DeviceLink add(const policy::ChainView& view, const Key& signer, const Key& added) {
  return policy::make_link(view, "alice", v1::DEVICE_ADD, added.pk, added.pk, 1, signer.sk,
                           policy::sign_possession("alice", added.pk, added.pk, added.sk));
}

v1::AccountInfo account(const std::vector<v1::DeviceLink>& links) {
  v1::AccountInfo a;
  a.set_handle("alice");
  for (const auto& l : links) *a.add_chain() = l;
  return a;
}

class ClientChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("cercle-chain-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    open();
    const policy::ChainView empty;
    link0_ = add(empty, first_, first_);
    auto one = policy::append(empty, "alice", link0_);
    ASSERT_TRUE(one.ok());
    link1_ = add(*one, first_, second_);
  }
  void TearDown() override {
    impl_.reset();
    std::filesystem::remove_all(dir_);
  }
  void open() {
    impl_.reset();
    impl_ = std::make_unique<Client::Impl>();
    auto store = LocalStore::open(dir_, "phrase");
    ASSERT_TRUE(store.ok()) << store.error().message;
    impl_->store = std::move(*store);
  }
  uint64_t pinned_length() {
    auto pin = impl_->load_pin("alice");
    return pin.ok() && *pin ? (*pin)->length : 0;
  }

  std::string dir_;
  std::unique_ptr<Client::Impl> impl_;
  Key first_, second_;
  v1::DeviceLink link0_, link1_;
};

TEST_F(ClientChainTest, FirstContactPinsAndThePinFollowsAGrowingChain) {
  auto first = impl_->check_chain(account({link0_}));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->devices.size(), 1u);
  EXPECT_EQ(pinned_length(), 1u);
  auto grown = impl_->check_chain(account({link0_, link1_}));
  ASSERT_TRUE(grown.ok()) << grown.error().message;
  EXPECT_EQ(grown->devices.size(), 2u);
  ASSERT_NO_FATAL_FAILURE(open());  // The pin is kept in the local store.
  EXPECT_EQ(pinned_length(), 2u);
  auto again = impl_->check_chain(account({link0_, link1_}));
  EXPECT_TRUE(again.ok());
}

TEST_F(ClientChainTest, ARolledBackOrMissingChainIsRefused) {
  ASSERT_TRUE(impl_->check_chain(account({link0_, link1_})).ok());
  for (const auto& links : {std::vector<v1::DeviceLink>{link0_}, std::vector<v1::DeviceLink>{}}) {
    auto refused = impl_->check_chain(account(links));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::kRefused);
    EXPECT_EQ(refused.error().message,
              "the server shows an older device chain for alice than this device already saw; no "
              "device of alice was added");
  }
  EXPECT_EQ(pinned_length(), 2u);
}

TEST_F(ClientChainTest, AnotherFirstLinkOrABrokenChainIsRefused) {
  ASSERT_TRUE(impl_->check_chain(account({link0_})).ok());
  const Key other;
  auto swapped = impl_->check_chain(account({add({}, other, other)}));
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.error().code, Errc::kRefused);
  EXPECT_EQ(swapped.error().message,
            "alice's identity changed: the server shows another device chain than the one first "
            "seen; verify alice again before adding their devices");
  // A link signed by a key that is not a device of alice.
  auto one = policy::append({}, "alice", link0_);
  ASSERT_TRUE(one.ok());
  auto forged = impl_->check_chain(account({link0_, add(*one, other, second_)}));
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, Errc::kRefused);
  EXPECT_EQ(pinned_length(), 1u);
}

TEST_F(ClientChainTest, AnAccountWithoutAChainIsRefusedAndNothingIsPinned) {
  auto none = impl_->check_chain(account({}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kRefused);
  EXPECT_EQ(none.error().message,
            "alice's device chain is not valid (the server sent no chain); no device of alice was "
            "added");
  EXPECT_EQ(pinned_length(), 0u);
  // The refusal left no trace: the account's real chain is then taken and pinned at first use.
  ASSERT_TRUE(impl_->check_chain(account({link0_})).ok());
  EXPECT_EQ(pinned_length(), 1u);
}

TEST(Nfc, HandlesAreNormalisedAsTheRelayStoresThem) {
  EXPECT_EQ(nfc("Ele\xCC\x81onore"), "El\xC3\xA9onore");
  EXPECT_EQ(nfc("alice"), "alice");
  EXPECT_EQ(nfc("\xff"), "\xff");  // Not UTF-8: sent as it is, for the relay to refuse.
}

}  // namespace
}  // namespace cercle::client

// DeviceRequests on their own (a hand-made table of accounts and a manual clock): requests expire
// at their lifetime and free their place, the per-account and server-wide caps hold, an approval
// reaches only the requests of the device's own account; and Identity's mapping of chain refusals
// to wire codes.
#include "server/domain/device_requests.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <string>

#include "cercle/policy/device_chain.h"
#include "server/domain/handle.h"
#include "server/domain/identity.h"

namespace cercle::domain {
namespace {

constexpr int64_t kStart = 1'790'000'000'000;
constexpr int64_t kTtl = 60'000;

struct Key {
  Key() { crypto_sign_keypair(pk, sk); }
  std::string public_key() const { return std::string(reinterpret_cast<const char*>(pk), 32); }
  std::string secret() const { return std::string(reinterpret_cast<const char*>(sk), 64); }
  PublicKey raw() const {
    PublicKey k;
    std::memcpy(k.data(), pk, k.size());
    return k;
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
};

class DeviceRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    config_.device_request_ttl_ms = kTtl;
    add_account(1, "alice", 10);
    add_account(2, "bob", 20);
  }

  void add_account(AccountId id, const std::string& handle, DeviceId device) {
    AccountState a;
    a.id = id;
    a.handle = handle;
    accounts_.add_account(a, normalize_handle(handle)->key);
    add_device(id, device, Key());
  }

  void add_device(AccountId account, DeviceId id, const Key& key) {
    DeviceState d;
    d.id = id;
    d.account = account;
    d.public_key = key.raw();
    accounts_.add_device(d);
  }

  Result<DeviceRequestView> ask(const std::string& handle, const Key& key, uint64_t requester = 7) {
    const std::string possession =
        policy::sign_possession(handle, key.public_key(), key.public_key(), key.secret());
    const std::string commitment = policy::commitment(std::string(32, 'n'));
    return requests_.request({handle, key.public_key(), key.public_key(), possession, commitment},
                             requester);
  }

  Config config_;
  Accounts accounts_;
  ManualClock clock_{kStart};
  DeviceRequests requests_{config_, accounts_, [](std::string_view) { return false; }, clock_};
};

TEST_F(DeviceRequestsTest, ARequestLivesItsLifetimeThenIsForgottenAndFreesItsPlace) {
  std::string first;
  for (uint32_t i = 0; i < config_.max_device_requests_per_account; ++i) {
    auto r = ask("alice", Key());
    ASSERT_TRUE(r.ok());
    if (i == 0) first = r->request_id;
    clock_.advance_ms(1);
  }
  auto refused = ask("alice", Key());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kLimitReached);
  EXPECT_TRUE(ask("bob", Key()).ok());  // Another account has its own places.

  clock_.advance_ms(kTtl - 5);  // The first is 1 ms short of its lifetime.
  EXPECT_TRUE(requests_.get(first, 10, 0).ok());
  clock_.advance_ms(1);
  auto gone = requests_.get(first, 10, 0);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::kNotFound);
  EXPECT_EQ(requests_.list(10).size(), config_.max_device_requests_per_account - 1);
  EXPECT_TRUE(ask("alice", Key()).ok());  // Its place is free again.

  clock_.advance_ms(kTtl);
  EXPECT_TRUE(requests_.list(10).empty());
  EXPECT_TRUE(requests_.list(20).empty());
  EXPECT_TRUE(ask("alice", Key()).ok());
  EXPECT_EQ(requests_.pending(), 1u);  // Every expired one left memory.
}

TEST_F(DeviceRequestsTest, TheServerWideCapHoldsAcrossAccounts) {
  config_.max_device_requests = 3;
  ASSERT_TRUE(ask("alice", Key()).ok());
  ASSERT_TRUE(ask("alice", Key()).ok());
  ASSERT_TRUE(ask("bob", Key()).ok());
  auto refused = ask("bob", Key());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kLimitReached);
  clock_.advance_ms(kTtl);
  EXPECT_TRUE(ask("bob", Key()).ok());
}

TEST_F(DeviceRequestsTest, AnApprovalReachesOnlyTheRequestsOfTheDevicesAccount) {
  const Key key;
  auto made = ask("alice", key);
  ASSERT_TRUE(made.ok());
  add_device(2, 21, key);  // The same key added to bob's account names no request of alice's.
  requests_.approved(key.raw(), 21);
  EXPECT_EQ(requests_.get(made->request_id, 10, 0)->device_id, 0u);
  add_device(1, 11, Key());  // Another key of alice's.
  requests_.approved(Key().raw(), 11);
  EXPECT_EQ(requests_.get(made->request_id, 10, 0)->device_id, 0u);
  requests_.approved(key.raw(), 12);  // An unknown device.
  EXPECT_EQ(requests_.get(made->request_id, 10, 0)->device_id, 0u);
  add_device(1, 12, Key());
  requests_.approved(key.raw(), 12);
  EXPECT_EQ(requests_.get(made->request_id, 0, 7)->device_id, 12u);
}

TEST_F(DeviceRequestsTest, OnlyTheRequesterRevealsAndOnlyTheAccountApproves) {
  const std::string nonce(32, 'n');
  auto made = ask("alice", Key(), 7);
  ASSERT_TRUE(made.ok());
  const std::string& id = made->request_id;
  EXPECT_EQ(requests_.post_nonce(id, std::string(32, 'a'), 20, 0).error().code, Errc::kNotFound);
  EXPECT_EQ(requests_.post_nonce(id, std::string(32, 'a'), 0, 8).error().code, Errc::kNotFound);
  EXPECT_EQ(requests_.get(id, 0, 0).error().code, Errc::kNotFound);
  EXPECT_EQ(requests_.post_nonce(id, nonce, 0, 7).error().code, Errc::kInvalidArgument);
  ASSERT_TRUE(requests_.post_nonce(id, std::string(32, 'a'), 10, 0).ok());
  EXPECT_EQ(requests_.post_nonce(id, std::string(32, 'b'), 10, 0).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(requests_.post_nonce(id, std::string(32, 'x'), 0, 7).error().code, Errc::kForbidden);
  auto revealed = requests_.post_nonce(id, nonce, 0, 7);
  ASSERT_TRUE(revealed.ok());
  EXPECT_EQ(revealed->approver_nonce, std::string(32, 'a'));
  EXPECT_EQ(revealed->device_nonce, nonce);
}

TEST(ChainErrorTest, EachChainRefusalHasItsWireCode) {
  using policy::ChainErrc;
  const std::pair<ChainErrc, Errc> expected[] = {
      {ChainErrc::kMalformed, Errc::kInvalidArgument},
      {ChainErrc::kBadSignature, Errc::kForbidden},
      {ChainErrc::kNotApproved, Errc::kForbidden},
      {ChainErrc::kBrokenLink, Errc::kChainConflict},
      {ChainErrc::kDuplicate, Errc::kDeviceKeyTaken},
      {ChainErrc::kUnknownDevice, Errc::kInvalidArgument},
      {ChainErrc::kTooLong, Errc::kLimitReached},
  };
  for (const auto& [code, errc] : expected) {
    EXPECT_EQ(chain_error({code, "why"}).code, errc) << static_cast<int>(code);
  }
  EXPECT_EQ(static_cast<int>(Errc::kChainConflict), static_cast<int>(v1::CHAIN_CONFLICT));
}

}  // namespace
}  // namespace cercle::domain

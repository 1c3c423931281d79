// Device chains in the SDK behind a relay double that rewrites the real server's answers about an
// account (testing/rewriting_relay.h): a link the relay added, another first link, a package whose
// key the account's chain does not list. The peer's client refuses (kRefused, with the reason) and
// commits nothing. The approval flows and chains shown by the relay itself:
// client_devices_test.cpp.
#include <gtest/gtest.h>

#include <functional>

#include "cercle/policy/extensions.h"
#include "tests/client_devices_fixture.h"

namespace cercle::testing {
namespace {

class ClientDevicesTamperedTest : public ClientDevicesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ClientDevicesTest::SetUp());
    std::string error;
    relay_ = RewritingRelay::start(server_->port(), &error);
    ASSERT_TRUE(relay_) << error;
    alice_ = sdk_client("alice");
    bob_ = sdk_client("bob", true, "", relay_->port());
    ASSERT_TRUE(alice_ && bob_);
    // bob meets alice through the honest answers first: his client pins her chain.
    auto direct = bob_->start_direct("alice");
    ASSERT_TRUE(direct.ok()) << direct.error().message;
    auto group = bob_->create_group();
    ASSERT_TRUE(group.ok()) << group.error().message;
    group_ = *group;
    epoch_ = *bob_->epoch(group_);
  }

  // From now on, every AccountInfo the relay gives bob about alice goes through `edit`, and every
  // FetchKeyPackages answer about her through `packages`.
  void lie_about_alice(std::function<void(v1::AccountInfo&)> edit,
                       std::function<void(v1::FetchKeyPackagesResult&)> packages = {}) {
    relay_->set_rewrite([edit, packages](v1::Response& r) {
      v1::AccountInfo* account = r.has_account() ? r.mutable_account()
                                 : r.has_fetch_key_packages()
                                     ? r.mutable_fetch_key_packages()->mutable_account()
                                     : nullptr;
      if (!account || account->handle() != "alice") return;
      if (edit) edit(*account);
      if (packages && r.has_fetch_key_packages()) packages(*r.mutable_fetch_key_packages());
    });
  }

  void expect_nothing_committed() {
    EXPECT_EQ(*bob_->epoch(group_), epoch_);
    EXPECT_EQ(devices_of(*bob_, group_, "alice"), 0u);
  }

  std::unique_ptr<RewritingRelay> relay_;
  std::unique_ptr<Client> alice_, bob_;
  std::string group_;
  uint64_t epoch_ = 0;
};

TEST_F(ClientDevicesTamperedTest, ALinkTheRelayAddedIsRefusedAndNothingIsCommitted) {
  // The relay appends an ADD of its own key, signed by that key (no device of alice signed it).
  std::string refusal;
  lie_about_alice([&refusal](v1::AccountInfo& account) {
    const std::vector<v1::DeviceLink> links(account.chain().begin(), account.chain().end());
    auto view = policy::verify_chain("alice", links);
    if (!view.ok()) return;  // The honest chain: the test then fails on the message below.
    const DeviceKey forged;  // The relay's own key.
    const std::string secret = secret_bytes(forged.sk);
    *account.add_chain() = device_add_link(*view, "alice", secret, forged.public_key(), secret);
    const std::vector<v1::DeviceLink> all(account.chain().begin(), account.chain().end());
    refusal = policy::verify_chain("alice", all).error().message;
  });
  auto added = bob_->add_member(group_, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kRefused);
  ASSERT_FALSE(refusal.empty());
  EXPECT_EQ(added.error().message,
            "alice's device chain is not valid (" + refusal + "); no device of alice was added");
  expect_nothing_committed();
}

TEST_F(ClientDevicesTamperedTest, AnotherFirstLinkIsRefusedAndNothingIsCommitted) {
  // A chain of the relay's own making, valid in itself, from another first device.
  lie_about_alice([](v1::AccountInfo& account) {
    const DeviceKey forged;  // The relay's own key.
    account.clear_chain();
    *account.add_chain() = device_first_link("alice", forged.public_key(), secret_bytes(forged.sk));
  });
  auto added = bob_->add_member(group_, "alice");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::kRefused);
  EXPECT_EQ(added.error().message,
            "alice's identity changed: the server shows another device chain than the one first "
            "seen; verify alice again before adding their devices");
  expect_nothing_committed();
}

TEST_F(ClientDevicesTamperedTest, APackageWhoseKeyIsNotInTheChainIsNotAdded) {
  // The relay hands out, beside alice's own package, one of a device no device of alice approved.
  mls::KeyPackageOptions options;
  options.extension_types = policy::leaf_extension_types();
  const std::string peer = policy::kind_extension(policy::Kind::kPeer);
  options.leaf_extensions = {
      mls::Extension{policy::kAccountTypeExtensionType, mls::Bytes(peer.begin(), peer.end())}};
  auto hidden = mls::create_key_package(mls::Credential(mls::Bytes{'a', 'l', 'i', 'c', 'e'}),
                                        mls::SignaturePrivateKey::generate(), options);
  ASSERT_TRUE(hidden.ok());
  const std::string data(hidden->key_package.begin(), hidden->key_package.end());
  lie_about_alice({}, [data](v1::FetchKeyPackagesResult& result) {
    auto* extra = result.add_key_packages();
    extra->set_device_id(result.key_packages(0).device_id() + 1000);
    extra->set_data(data);
  });
  auto added = bob_->add_member(group_, "alice");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(devices_of(*bob_, group_, "alice"), 1u);
  // Only her package of a device outside the chain: nobody is added.
  lie_about_alice({}, [data](v1::FetchKeyPackagesResult& result) {
    result.mutable_key_packages(0)->set_data(data);
  });
  auto group = bob_->create_group();
  ASSERT_TRUE(group.ok());
  const uint64_t epoch = *bob_->epoch(*group);
  auto refused = bob_->add_member(*group, "alice");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kRefused);
  EXPECT_EQ(refused.error().message,
            "no device of alice that can be added now is in their device chain");
  EXPECT_EQ(*bob_->epoch(*group), epoch);
}

}  // namespace
}  // namespace cercle::testing

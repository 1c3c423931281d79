// The relay's side of the signed device chain (issue 11, defect 4: the server could give an account
// a hidden device): Register starts an account's chain with link 0, AddDevice appends links the
// relay checks (lib/policy/include/cercle/policy/device_chain.h) with compare-and-set on their seq, every
// AccountInfo carries the chain, a device's KeyPackages must be signed with the MLS key its link
// names, and the chain survives a crash. Pairing a new device: relay_device_pairing_test.cpp.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/device_chain_fixture.h"

namespace cercle::testing {
namespace {

TEST_F(RelayDeviceChainTest, RegisterStartsTheChainWithLinkZero) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));

  // An account without a chain is refused: nothing would tell its contacts which devices are its.
  std::unique_ptr<WsClient> ws;
  auto refused = register_with(ws, bob.key, "bob", std::nullopt);
  ASSERT_TRUE(refused && refused->has_error());
  EXPECT_EQ(refused->error().code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(refused->error().message(), "the account's first device link is required");
  EXPECT_EQ(error_of(lookup(alice, "bob")), v1::NOT_FOUND);
  ASSERT_NO_FATAL_FAILURE(register_chained("bob", &bob));  // The handle and the key are free.

  auto r = lookup(bob, "alice");
  ASSERT_TRUE(r && r->has_account());
  ASSERT_EQ(r->account().chain_size(), 1);
  EXPECT_EQ(r->account().chain(0).device_key(), alice.key.public_key());
  ASSERT_NO_FATAL_FAILURE(expect_chain_matches_devices(r->account()));
  auto b = lookup(alice, "bob");
  ASSERT_TRUE(b && b->has_account());
  ASSERT_EQ(b->account().chain_size(), 1);
  EXPECT_EQ(b->account().chain(0).device_key(), bob.key.public_key());
}

TEST_F(RelayDeviceChainTest, RegisterRefusesALinkThatIsNotThisDevicesLinkZero) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::unique_ptr<WsClient> ws;
  DeviceKey key, other;

  // Link 0 of another key, however valid.
  EXPECT_EQ(error_of(register_with(ws, key, "alice", first_link("alice", other))),
            v1::INVALID_ARGUMENT);
  // Not link 0.
  auto later = first_link("alice", key);
  later.set_seq(1);
  EXPECT_EQ(error_of(register_with(ws, key, "alice", later)), v1::INVALID_ARGUMENT);
  // A bad signature, a bad possession proof, a link signed for another handle.
  auto forged = first_link("alice", key);
  forged.mutable_signature()->at(0) ^= 1;
  EXPECT_EQ(error_of(register_with(ws, key, "alice", forged)), v1::FORBIDDEN);
  auto no_proof = first_link("alice", key);
  no_proof.mutable_possession()->at(5) ^= 1;
  EXPECT_EQ(error_of(register_with(ws, key, "alice", no_proof)), v1::FORBIDDEN);
  EXPECT_EQ(error_of(register_with(ws, key, "alice", first_link("alicia", key))), v1::FORBIDDEN);
  // A 31-byte MLS key.
  auto short_key = first_link("alice", key);
  short_key.mutable_mls_key()->pop_back();
  EXPECT_EQ(error_of(register_with(ws, key, "alice", short_key)), v1::INVALID_ARGUMENT);

  // Nothing was created: the handle and the key are still free.
  auto r = register_with(ws, key, "alice", first_link("alice", key));
  ASSERT_TRUE(r && r->has_auth()) << (r ? r->error().message() : "timeout");
}

TEST_F(RelayDeviceChainTest, ClientsSignTheHandleAsTheRelayStoresItNfc) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string decomposed = "e\xCC\x81loise";  // e + U+0301.
  const std::string nfc = "\xC3\xA9loise";          // é.
  std::unique_ptr<WsClient> ws;
  DeviceKey key;
  EXPECT_EQ(error_of(register_with(ws, key, decomposed, first_link(decomposed, key))),
            v1::FORBIDDEN);
  auto r = register_with(ws, key, decomposed, first_link(nfc, key));
  ASSERT_TRUE(r && r->has_auth()) << (r ? r->error().message() : "timeout");
  EXPECT_EQ(r->auth().handle(), nfc);
}

TEST_F(RelayDeviceChainTest, AddDeviceAppendsALinkSignedByTheAddingDevice) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, phone, bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(add_device(alice, &phone));

  auto r = lookup(bob, "alice");
  ASSERT_TRUE(r && r->has_account());
  ASSERT_EQ(r->account().chain_size(), 2);
  EXPECT_EQ(r->account().chain(1).signer_key(), alice.key.public_key());
  EXPECT_EQ(r->account().chain(1).device_key(), phone.key.public_key());
  ASSERT_NO_FATAL_FAILURE(expect_chain_matches_devices(r->account()));
  // The new device extends the chain in turn.
  TestDevice tablet;
  ASSERT_NO_FATAL_FAILURE(add_device(phone, &tablet));
  EXPECT_EQ(chain_view(bob, "alice").devices.size(), 3u);
}

TEST_F(RelayDeviceChainTest, AddDeviceRefusesEveryBadLinkWithItsCode) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  const auto view = chain_view(alice, "alice");
  DeviceKey phone, stranger;
  const auto good = add_link(view, "alice", alice.key, phone);

  auto removal = policy::make_link(view, "alice", v1::DEVICE_REMOVE, phone.public_key(),
                                   phone.public_key(), kTime, secret(alice.key), "");
  EXPECT_EQ(error_of(add_with(alice, phone, removal)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(add_with(alice, stranger, good)), v1::INVALID_ARGUMENT);  // Another key.
  auto short_key = good;
  short_key.mutable_mls_key()->pop_back();
  EXPECT_EQ(error_of(add_with(alice, phone, short_key)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(add_with(alice, phone, add_link(view, "alice", stranger, phone))),
            v1::FORBIDDEN);  // Not signed by the adding device.
  auto forged = good;
  forged.mutable_signature()->at(3) ^= 1;
  EXPECT_EQ(error_of(add_with(alice, phone, forged)), v1::FORBIDDEN);
  auto no_proof = good;
  no_proof.mutable_possession()->at(3) ^= 1;
  EXPECT_EQ(error_of(add_with(alice, phone, no_proof)), v1::FORBIDDEN);
  auto stale = policy::make_link({}, "alice", v1::DEVICE_ADD, phone.public_key(),
                                 phone.public_key(), kTime, secret(alice.key), good.possession());
  EXPECT_EQ(error_of(add_with(alice, phone, stale)), v1::CHAIN_CONFLICT);  // seq 0 again.
  EXPECT_EQ(error_of(add_with(alice, phone, add_link(view, "alice", alice.key, phone, &alice.key))),
            v1::DEVICE_KEY_TAKEN);  // Alice's MLS key.
  EXPECT_EQ(error_of(add_with(alice, bob.key, add_link(view, "alice", alice.key, bob.key))),
            v1::DEVICE_KEY_TAKEN);                                                  // Bob's device.
  EXPECT_EQ(error_of(add_with(alice, phone, std::nullopt)), v1::INVALID_ARGUMENT);  // No link.

  // Nothing was added; the good link still is.
  EXPECT_EQ(chain_view(bob, "alice").hashes.size(), 1u);
  auto r = add_with(alice, phone, good);
  EXPECT_TRUE(r && r->has_device()) << (r ? r->error().message() : "timeout");
}

TEST_F(RelayDeviceChainTest, AddDeviceWithoutALinkIsRefusedAndAddsNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("bob", &bob));
  DeviceKey phone;
  auto refused = add_with(bob, phone, std::nullopt);
  ASSERT_TRUE(refused && refused->has_error());
  EXPECT_EQ(refused->error().code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(refused->error().message(),
            "this account's devices are added with a signed device link");
  auto r = lookup(bob, "bob");
  ASSERT_TRUE(r && r->has_account());
  EXPECT_EQ(r->account().devices_size(), 1);
  EXPECT_EQ(r->account().chain_size(), 1);
  // The phone's key is still free: with the link, it is added.
  auto added = add_with(bob, phone, add_link(chain_view(bob, "bob"), "bob", bob.key, phone));
  EXPECT_TRUE(added && added->has_device()) << (added ? added->error().message() : "timeout");
}

TEST_F(RelayDeviceChainTest, TheDeviceLimitHoldsForChainedAccounts) {
  ASSERT_NO_FATAL_FAILURE(start("max_devices_per_account = 2\n"));
  TestDevice alice, phone;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(add_device(alice, &phone));
  DeviceKey third;
  EXPECT_EQ(error_of(add_with(alice, third,
                              add_link(chain_view(alice, "alice"), "alice", alice.key, third))),
            v1::LIMIT_REACHED);
}

TEST_F(RelayDeviceChainTest, TwoAddDevicesAtTheSameSeqOneWinsTheOtherConflicts) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, phone;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(add_device(alice, &phone));
  const auto view = chain_view(alice, "alice");
  DeviceKey tablet, watch;
  v1::ClientFrame a, b;
  a.mutable_add_device()->set_device_public_key(tablet.public_key());
  *a.mutable_add_device()->mutable_link() = add_link(view, "alice", alice.key, tablet);
  b.mutable_add_device()->set_device_public_key(watch.public_key());
  *b.mutable_add_device()->mutable_link() = add_link(view, "alice", phone.key, watch);
  // Both sent before either answer is read.
  const uint64_t ia = alice.ws->send(a);
  const uint64_t ib = phone.ws->send(b);
  auto ra = alice.ws->wait_response(ia);
  auto rb = phone.ws->wait_response(ib);
  ASSERT_TRUE(ra && rb);
  const bool a_won = ra->has_device();
  EXPECT_NE(a_won, rb->has_device());
  EXPECT_EQ(error_of(a_won ? rb : ra), v1::CHAIN_CONFLICT);

  // The loser reads the chain again and signs anew.
  const auto now = chain_view(alice, "alice");
  EXPECT_EQ(now.hashes.size(), 3u);
  TestDevice& loser = a_won ? phone : alice;
  const DeviceKey& late = a_won ? watch : tablet;
  auto r = add_with(loser, late, add_link(now, "alice", loser.key, late));
  EXPECT_TRUE(r && r->has_device()) << (r ? r->error().message() : "timeout");
  EXPECT_EQ(chain_view(alice, "alice").devices.size(), 4u);
}

TEST_F(RelayDeviceChainTest, KeyPackagesMustBeSignedWithTheChainsMlsKey) {
  ASSERT_NO_FATAL_FAILURE(start());
  DeviceKey mls_key;
  TestDevice alice, bob;
  // Alice's device signs MLS with a key of its own, named by its link.
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice, &mls_key));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));

  MlsMember with_device_key("alice", alice.key.sk);
  v1::ClientFrame f;
  f.mutable_upload_key_packages()->add_key_packages()->set_data(with_device_key.key_package());
  EXPECT_EQ(error_of(alice.ws->call(f)), v1::FORBIDDEN);
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(alice));  // Signed with the chain's MLS key.

  v1::ClientFrame fetch;
  fetch.mutable_fetch_key_packages()->set_handle("alice");
  auto r = bob.ws->call(fetch);
  ASSERT_TRUE(r && r->has_fetch_key_packages()) << (r ? r->error().message() : "timeout");
  const auto& info = r->fetch_key_packages().account();
  ASSERT_NO_FATAL_FAILURE(expect_chain_matches_devices(info));
  ASSERT_EQ(info.chain_size(), 1);
  EXPECT_EQ(info.chain(0).mls_key(), mls_key.public_key());
  EXPECT_EQ(r->fetch_key_packages().key_packages_size(), 1);
  // Bob can add alice's device with the package the relay handed out.
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(create_group(bob, &conv));
  BuiltCommit c;
  ASSERT_NO_FATAL_FAILURE(build_commit(bob, conv, 0, {&alice}, {}, &c,
                                       {r->fetch_key_packages().key_packages(0).data()}));
  auto committed = bob.ws->call(c.frame);
  EXPECT_TRUE(committed && committed->has_commit())
      << (committed ? committed->error().message() : "timeout");
}

TEST_F(RelayDeviceChainTest, TheChainSurvivesAKillAndARestart) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, phone;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(add_device(alice, &phone));
  auto before = lookup(alice, "alice");
  ASSERT_TRUE(before && before->has_account());

  server_->kill9();
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice));
  auto after = lookup(alice, "alice");
  ASSERT_TRUE(after && after->has_account());
  ASSERT_EQ(after->account().chain_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(after->account().chain(i).SerializeAsString(),
              before->account().chain(i).SerializeAsString());
  }
  ASSERT_NO_FATAL_FAILURE(expect_chain_matches_devices(after->account()));
  // The relay still knows where the chain ends: a stale link conflicts, the next one is taken.
  const auto view = chain_view(alice, "alice");
  DeviceKey tablet;
  auto stale_view = view;
  stale_view.hashes.pop_back();
  EXPECT_EQ(error_of(add_with(alice, tablet, add_link(stale_view, "alice", alice.key, tablet))),
            v1::CHAIN_CONFLICT);
  auto r = add_with(alice, tablet, add_link(view, "alice", alice.key, tablet));
  EXPECT_TRUE(r && r->has_device()) << (r ? r->error().message() : "timeout");
}

}  // namespace
}  // namespace cercle::testing

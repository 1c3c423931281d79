// The relay's side of the signed device chain (issue 11, defect 4: the server could give an account
// a hidden device): Register starts an account's chain with link 0, AddDevice appends links the
// relay checks (client-lib/policy/device_chain.h) with compare-and-set on their seq, every
// AccountInfo carries the chain, a device's KeyPackages must be signed with the MLS key its link
// names, the chain survives a crash, and a new device pairs with an existing one through device
// requests.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client-lib/policy/device_chain.h"
#include "tests/support/relay_fixture.h"

namespace cercle::testing {
namespace {

constexpr uint64_t kTime = 1'790'000'000'000;

std::string secret(const DeviceKey& k) {
  return std::string(reinterpret_cast<const char*>(k.sk), sizeof k.sk);
}

std::string random_nonce() {
  std::string n(policy::kNonceBytes, '\0');
  randombytes_buf(n.data(), n.size());
  return n;
}

// The ADD of `device` (MLS key: `mls`, else its own key) after `view`, signed by `signer`.
v1::DeviceLink add_link(const policy::ChainView& view, const std::string& handle,
                        const DeviceKey& signer, const DeviceKey& device,
                        const DeviceKey* mls = nullptr) {
  const std::string mls_key = (mls ? *mls : device).public_key();
  return policy::make_link(
      view, handle, v1::DEVICE_ADD, device.public_key(), mls_key, kTime, secret(signer),
      policy::sign_possession(handle, device.public_key(), mls_key, secret(device)));
}

v1::DeviceLink first_link(const std::string& handle, const DeviceKey& device,
                          const DeviceKey* mls = nullptr) {
  return add_link({}, handle, device, device, mls);
}

std::vector<v1::DeviceLink> links_of(const v1::AccountInfo& info) {
  return {info.chain().begin(), info.chain().end()};
}

// The chain verifies, and its current devices are exactly the account's.
void expect_chain_matches_devices(const v1::AccountInfo& info) {
  const auto links = links_of(info);
  const auto check = policy::verify_chain(info.handle(), links);
  ASSERT_TRUE(check.ok()) << check.refusal->message;
  std::set<std::string> in_chain, devices;
  for (const auto& d : check.view.devices) in_chain.insert(d.device_key);
  for (const auto& d : info.devices()) devices.insert(d.public_key());
  EXPECT_EQ(in_chain, devices);
  EXPECT_EQ(in_chain.size(), static_cast<size_t>(info.devices_size()));
}

class RelayDeviceChainTest : public RelayFixture {
 protected:
  void start(const std::string& limits = {}) {
    std::vector<std::string> args;
    if (!limits.empty()) args = {"--config", write_config("[limits]\n" + limits)};
    ASSERT_NO_FATAL_FAILURE(start_server(args));
  }

  // Hello, then Register with `link` (none when nullopt) on a new connection kept in `ws`.
  std::optional<v1::Response> register_with(std::unique_ptr<WsClient>& ws, const DeviceKey& key,
                                            const std::string& handle,
                                            const std::optional<v1::DeviceLink>& link) {
    ws = connect();
    if (!ws || !ws->hello()) return std::nullopt;
    v1::ClientFrame f;
    auto* reg = f.mutable_register_();
    reg->set_handle(handle);
    reg->set_device_public_key(key.public_key());
    reg->set_signature(key.sign(ws->transcript()));
    if (link) *reg->mutable_link() = *link;
    return ws->call(f);
  }

  // Registers `handle` with its link 0; the device's MLS side signs with `mls` when given.
  void register_chained(const std::string& handle, TestDevice* d, const DeviceKey* mls = nullptr) {
    auto r = register_with(d->ws, d->key, handle, first_link(handle, d->key, mls));
    ASSERT_TRUE(r && r->has_auth()) << (r ? r->error().message() : "timeout");
    if (mls) d->mls = std::make_unique<MlsMember>(handle, mls->sk);
    authenticated(d, r->auth());
  }

  static std::optional<v1::Response> lookup(TestDevice& asker, const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_lookup_account()->set_handle(handle);
    return asker.ws->call(f);
  }

  // The account's chain as the relay serves it, and what it says.
  static policy::ChainView chain_view(TestDevice& asker, const std::string& handle) {
    auto r = lookup(asker, handle);
    EXPECT_TRUE(r && r->has_account()) << (r ? r->error().message() : "timeout");
    if (!r || !r->has_account()) return {};
    auto check = policy::verify_chain(handle, links_of(r->account()));
    EXPECT_TRUE(check.ok());
    return check.view;
  }

  static std::optional<v1::Response> add_with(TestDevice& owner, const DeviceKey& key,
                                              const std::optional<v1::DeviceLink>& link) {
    v1::ClientFrame f;
    f.mutable_add_device()->set_device_public_key(key.public_key());
    if (link) *f.mutable_add_device()->mutable_link() = *link;
    return owner.ws->call(f);
  }

  // `owner` adds `out` with the chain's next link, and `out` connects.
  void add_chained(TestDevice& owner, TestDevice* out) {
    const auto view = chain_view(owner, owner.handle);
    auto r = add_with(owner, out->key, add_link(view, owner.handle, owner.key, out->key));
    ASSERT_TRUE(r && r->has_device()) << (r ? r->error().message() : "timeout");
    out->device_id = r->device().device_id();
    ASSERT_NO_FATAL_FAILURE(reconnect(out));
    ASSERT_EQ(out->account_id, owner.account_id);
  }

  static v1::ClientFrame request_frame(const std::string& handle, const DeviceKey& key,
                                       const std::string& nonce) {
    v1::ClientFrame f;
    auto* r = f.mutable_request_device();
    r->set_handle(handle);
    r->set_device_public_key(key.public_key());
    r->set_mls_key(key.public_key());
    r->set_possession(
        policy::sign_possession(handle, key.public_key(), key.public_key(), secret(key)));
    r->set_commitment(policy::commitment(nonce));
    return f;
  }

  static v1::ClientFrame nonce_frame(const std::string& request_id, const std::string& nonce) {
    v1::ClientFrame f;
    f.mutable_post_pairing_nonce()->set_request_id(request_id);
    f.mutable_post_pairing_nonce()->set_nonce(nonce);
    return f;
  }

  static v1::ClientFrame get_frame(const std::string& request_id) {
    v1::ClientFrame f;
    f.mutable_get_device_request()->set_request_id(request_id);
    return f;
  }

  static v1::ClientFrame list_frame() {
    v1::ClientFrame f;
    f.mutable_list_device_requests();
    return f;
  }

  // A new connection that said hello, for a device that is not registered.
  std::unique_ptr<WsClient> anonymous() {
    auto ws = connect();
    EXPECT_TRUE(ws && ws->hello());
    return ws;
  }

  // A new device asks to join `handle`; returns its request id.
  std::string request_device(WsClient& ws, const std::string& handle, const DeviceKey& key,
                             const std::string& nonce) {
    auto r = ws.call(request_frame(handle, key, nonce));
    EXPECT_TRUE(r && r->has_device_request()) << (r ? r->error().message() : "timeout");
    return r && r->has_device_request() ? r->device_request().request_id() : std::string();
  }
};

TEST_F(RelayDeviceChainTest, RegisterStartsTheChainWithLinkZero) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));  // No link: no chain (kChainRequired off).

  auto r = lookup(bob, "alice");
  ASSERT_TRUE(r && r->has_account());
  ASSERT_EQ(r->account().chain_size(), 1);
  EXPECT_EQ(r->account().chain(0).device_key(), alice.key.public_key());
  ASSERT_NO_FATAL_FAILURE(expect_chain_matches_devices(r->account()));
  auto b = lookup(alice, "bob");
  ASSERT_TRUE(b && b->has_account());
  EXPECT_EQ(b->account().chain_size(), 0);
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
  ASSERT_NO_FATAL_FAILURE(add_chained(alice, &phone));

  auto r = lookup(bob, "alice");
  ASSERT_TRUE(r && r->has_account());
  ASSERT_EQ(r->account().chain_size(), 2);
  EXPECT_EQ(r->account().chain(1).signer_key(), alice.key.public_key());
  EXPECT_EQ(r->account().chain(1).device_key(), phone.key.public_key());
  ASSERT_NO_FATAL_FAILURE(expect_chain_matches_devices(r->account()));
  // The new device extends the chain in turn.
  TestDevice tablet;
  ASSERT_NO_FATAL_FAILURE(add_chained(phone, &tablet));
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

TEST_F(RelayDeviceChainTest, AccountsWithoutAChainStillAddDevicesWithoutALink) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice bob, phone;
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(add_device(bob, &phone));
  auto r = lookup(bob, "bob");
  ASSERT_TRUE(r && r->has_account());
  EXPECT_EQ(r->account().devices_size(), 2);
  EXPECT_EQ(r->account().chain_size(), 0);
}

TEST_F(RelayDeviceChainTest, TheDeviceLimitHoldsForChainedAccounts) {
  ASSERT_NO_FATAL_FAILURE(start("max_devices_per_account = 2\n"));
  TestDevice alice, phone;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(add_chained(alice, &phone));
  DeviceKey third;
  EXPECT_EQ(error_of(add_with(alice, third,
                              add_link(chain_view(alice, "alice"), "alice", alice.key, third))),
            v1::LIMIT_REACHED);
}

TEST_F(RelayDeviceChainTest, TwoAddDevicesAtTheSameSeqOneWinsTheOtherConflicts) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, phone;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(add_chained(alice, &phone));
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
  ASSERT_NO_FATAL_FAILURE(add_chained(alice, &phone));
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

TEST_F(RelayDeviceChainTest, ANewDevicePairsWithAnExistingOneAndAuthenticates) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  const std::string nonce = random_nonce();
  auto fresh = anonymous();
  auto made = fresh->call(request_frame("alice", key, nonce));
  ASSERT_TRUE(made && made->has_device_request()) << (made ? made->error().message() : "timeout");
  const auto& info = made->device_request();
  EXPECT_EQ(info.request_id().size(), 16u);
  EXPECT_EQ(info.handle(), "alice");
  EXPECT_TRUE(info.approver_nonce().empty());
  EXPECT_EQ(info.device_id(), 0u);
  const std::string id = info.request_id();

  // The account's device sees it and posts its nonce, once.
  auto list = alice.ws->call(list_frame());
  ASSERT_TRUE(list && list->has_device_requests());
  ASSERT_EQ(list->device_requests().requests_size(), 1);
  const auto seen = list->device_requests().requests(0);
  EXPECT_EQ(seen.request_id(), id);
  EXPECT_EQ(seen.device_public_key(), key.public_key());
  const std::string approver_nonce = random_nonce();
  auto posted = alice.ws->call(nonce_frame(id, approver_nonce));
  ASSERT_TRUE(posted && posted->has_device_request());
  EXPECT_EQ(error_of(alice.ws->call(nonce_frame(id, random_nonce()))), v1::INVALID_ARGUMENT);

  // The new device reads the approver's nonce, then reveals its own.
  auto polled = fresh->call(get_frame(id));
  ASSERT_TRUE(polled && polled->has_device_request());
  EXPECT_EQ(polled->device_request().approver_nonce(), approver_nonce);
  auto revealed = fresh->call(nonce_frame(id, nonce));
  ASSERT_TRUE(revealed && revealed->has_device_request())
      << (revealed ? revealed->error().message() : "timeout");
  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, nonce))), v1::INVALID_ARGUMENT);  // Again.

  // Both show the same code, each from what the relay gave it.
  const auto& mine = revealed->device_request();
  const std::string new_code = policy::pairing_code(mine.handle(), key.public_key(),
                                                    key.public_key(), nonce, mine.approver_nonce());
  auto theirs_r = alice.ws->call(get_frame(id));
  ASSERT_TRUE(theirs_r && theirs_r->has_device_request());
  const auto& theirs = theirs_r->device_request();
  EXPECT_EQ(policy::commitment(theirs.device_nonce()), theirs.commitment());
  const std::string old_code =
      policy::pairing_code(theirs.handle(), theirs.device_public_key(), theirs.mls_key(),
                           theirs.device_nonce(), approver_nonce);
  EXPECT_EQ(new_code, old_code);

  // The person confirms: the old device signs the ADD with the new device's proof.
  auto link = policy::make_link(chain_view(alice, "alice"), "alice", v1::DEVICE_ADD,
                                theirs.device_public_key(), theirs.mls_key(), kTime,
                                secret(alice.key), theirs.possession());
  v1::ClientFrame add;
  add.mutable_add_device()->set_device_public_key(theirs.device_public_key());
  *add.mutable_add_device()->mutable_link() = link;
  auto added = alice.ws->call(add);
  ASSERT_TRUE(added && added->has_device()) << (added ? added->error().message() : "timeout");

  // The new device learns it was approved, and authenticates on the same connection.
  auto approved = fresh->call(get_frame(id));
  ASSERT_TRUE(approved && approved->has_device_request());
  EXPECT_EQ(approved->device_request().device_id(), added->device().device_id());
  auto auth = fresh->authenticate(key);
  ASSERT_TRUE(auth && auth->has_auth()) << (auth ? auth->error().message() : "timeout");
  EXPECT_EQ(auth->auth().device_id(), added->device().device_id());
  EXPECT_EQ(auth->auth().account_id(), alice.account_id);
}

TEST_F(RelayDeviceChainTest, TheRevealedNonceMustMatchTheCommitmentAndComeSecond) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  const std::string nonce = random_nonce();
  auto fresh = anonymous();
  const std::string id = request_device(*fresh, "alice", key, nonce);
  ASSERT_FALSE(id.empty());

  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, nonce))), v1::INVALID_ARGUMENT);  // Too early.
  auto posted = alice.ws->call(nonce_frame(id, random_nonce()));
  ASSERT_TRUE(posted && posted->has_device_request());
  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, random_nonce()))), v1::FORBIDDEN);
  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, nonce.substr(1)))), v1::INVALID_ARGUMENT);
  auto revealed = fresh->call(nonce_frame(id, nonce));
  EXPECT_TRUE(revealed && revealed->has_device_request());
}

TEST_F(RelayDeviceChainTest, OnlyTheRequesterAndTheAccountsDevicesSeeARequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_chained("bob", &bob));
  DeviceKey key;
  auto fresh = anonymous();
  const std::string id = request_device(*fresh, "alice", key, random_nonce());
  ASSERT_FALSE(id.empty());

  auto other = anonymous();
  EXPECT_EQ(error_of(other->call(get_frame(id))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(other->call(nonce_frame(id, random_nonce()))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(bob.ws->call(get_frame(id))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(bob.ws->call(nonce_frame(id, random_nonce()))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(bob.ws->call(get_frame(std::string(16, 'x')))), v1::NOT_FOUND);
  auto bobs = bob.ws->call(list_frame());
  ASSERT_TRUE(bobs && bobs->has_device_requests());
  EXPECT_EQ(bobs->device_requests().requests_size(), 0);
  // Bob's failed post left the request as it was: alice still posts the approver's nonce.
  auto posted = alice.ws->call(nonce_frame(id, random_nonce()));
  EXPECT_TRUE(posted && posted->has_device_request());
  auto still = fresh->call(get_frame(id));
  EXPECT_TRUE(still && still->has_device_request());
}

TEST_F(RelayDeviceChainTest, RequestDeviceRefusals) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  const std::string nonce = random_nonce();
  auto fresh = anonymous();

  EXPECT_EQ(error_of(fresh->call(request_frame("nobody", key, nonce))), v1::NOT_FOUND);
  auto short_key = request_frame("alice", key, nonce);
  short_key.mutable_request_device()->mutable_mls_key()->pop_back();
  EXPECT_EQ(error_of(fresh->call(short_key)), v1::INVALID_ARGUMENT);
  auto short_commitment = request_frame("alice", key, nonce);
  short_commitment.mutable_request_device()->mutable_commitment()->pop_back();
  EXPECT_EQ(error_of(fresh->call(short_commitment)), v1::INVALID_ARGUMENT);
  auto no_proof = request_frame("alice", key, nonce);
  no_proof.mutable_request_device()->mutable_possession()->at(0) ^= 1;
  EXPECT_EQ(error_of(fresh->call(no_proof)), v1::FORBIDDEN);
  EXPECT_EQ(error_of(fresh->call(request_frame("alice", alice.key, nonce))), v1::DEVICE_KEY_TAKEN);
  EXPECT_EQ(error_of(alice.ws->call(request_frame("alice", key, nonce))),
            v1::ALREADY_AUTHENTICATED);
  auto before_hello = connect();
  EXPECT_EQ(error_of(before_hello->call(request_frame("alice", key, nonce))), v1::HELLO_REQUIRED);
  EXPECT_EQ(error_of(before_hello->call(list_frame())), v1::HELLO_REQUIRED);
  EXPECT_EQ(error_of(fresh->call(list_frame())), v1::NOT_AUTHENTICATED);

  // At most 4 pending requests per account.
  for (int i = 0; i < 4; ++i) {
    DeviceKey k;
    ASSERT_FALSE(request_device(*fresh, "alice", k, nonce).empty());
  }
  EXPECT_EQ(error_of(fresh->call(request_frame("alice", key, nonce))), v1::LIMIT_REACHED);
  auto list = alice.ws->call(list_frame());
  ASSERT_TRUE(list && list->has_device_requests());
  EXPECT_EQ(list->device_requests().requests_size(), 4);
}

TEST_F(RelayDeviceChainTest, ARequestExpiresAfterItsLifetime) {
  ASSERT_NO_FATAL_FAILURE(start("device_request_ttl_s = 1\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  auto fresh = anonymous();
  const auto made = std::chrono::steady_clock::now();
  const std::string id = request_device(*fresh, "alice", key, random_nonce());
  ASSERT_FALSE(id.empty());
  auto alive = fresh->call(get_frame(id));
  ASSERT_TRUE(alive && alive->has_device_request());

  std::this_thread::sleep_until(made + std::chrono::seconds(1));  // The lifetime itself.
  // The relay's clock may have started the request a little later: poll, briefly and bounded.
  std::optional<v1::Response> r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    r = fresh->call(get_frame(id));
    if (error_of(r) == v1::NOT_FOUND || std::chrono::steady_clock::now() >= deadline) break;
    fresh->drain(50ms);
  }
  EXPECT_EQ(error_of(r), v1::NOT_FOUND);
  EXPECT_EQ(error_of(alice.ws->call(get_frame(id))), v1::NOT_FOUND);
  auto list = alice.ws->call(list_frame());
  ASSERT_TRUE(list && list->has_device_requests());
  EXPECT_EQ(list->device_requests().requests_size(), 0);
}

TEST_F(RelayDeviceChainTest, AnonymousRequestsAreRateLimitedPerAddress) {
  ASSERT_NO_FATAL_FAILURE(
      start("device_request_ttl_s = 600\n[rate_limits]\nregistrations_per_ip_per_hour = 3\n"
            "auth_attempts_per_ip_per_minute = 4\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));  // The first registration token.
  auto fresh = anonymous();
  DeviceKey a, b, c;
  const std::string id = request_device(*fresh, "alice", a, random_nonce());
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(request_device(*fresh, "alice", b, random_nonce()).empty());
  EXPECT_EQ(error_of(fresh->call(request_frame("alice", c, random_nonce()))), v1::RATE_LIMITED);

  // Following a request before authentication counts like authentication attempts.
  for (int i = 0; i < 4; ++i) {
    auto r = fresh->call(get_frame(id));
    ASSERT_TRUE(r && r->has_device_request()) << i;
  }
  EXPECT_EQ(error_of(fresh->call(get_frame(id))), v1::RATE_LIMITED);
  auto theirs = alice.ws->call(get_frame(id));  // The account's device is not counted so.
  EXPECT_TRUE(theirs && theirs->has_device_request());
}

TEST_F(RelayDeviceChainTest, ANewDeviceWaitingForApprovalOutlivesTheAuthenticationDeadline) {
  ASSERT_NO_FATAL_FAILURE(start("auth_timeout_s = 1\ndevice_request_ttl_s = 30\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  auto waiting = anonymous();
  const std::string id = request_device(*waiting, "alice", key, random_nonce());
  ASSERT_FALSE(id.empty());
  auto idle = anonymous();

  int code = 0;
  ASSERT_TRUE(idle->wait_closed(5s, &code));  // Past the authentication deadline.
  EXPECT_EQ(code, 1008);
  auto r = waiting->call(get_frame(id));  // Older, and still open.
  EXPECT_TRUE(r && r->has_device_request()) << (r ? r->error().message() : "timeout");
  EXPECT_FALSE(waiting->is_closed());
}

}  // namespace
}  // namespace cercle::testing

// RelayFixture: a GoogleTest fixture for integration tests of the relay. It runs one cercle-server
// on a temporary data folder (restartable on the same folder), registers devices and builds groups.
// The relay reads MLS handshake messages (key packages, commits, proposals, Welcomes) and the
// cleartext header of application messages (a PrivateMessage of the group at its epoch), so every
// device has a real MLS side (MlsMember), the group helpers build real commits (a group's first
// one with the group's start) and application messages are real (message(), say()).
// Helpers that can fail are void and use ASSERT: call them inside ASSERT_NO_FATAL_FAILURE(...).
#pragma once

#include <gtest/gtest.h>

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cercle/policy/policy.h"
#include "testing/device_links.h"
#include "testing/mls_member.h"
#include "testing/server_process.h"
#include "testing/ws_client.h"

namespace cercle::testing {

// One registered device and, while it is online, its connection.
struct TestDevice {
  DeviceKey key;
  std::string handle;  // As the relay stores it (AuthResult.handle): what its credentials name.
  uint64_t account_id = 0;
  uint64_t device_id = 0;
  std::unique_ptr<WsClient> ws;
  // Its MLS side, signed with `key`, made when it first authenticates. Kept while it is offline:
  // the client's state lives on the device, not in the connection.
  std::unique_ptr<MlsMember> mls;
  // KeyPackages it uploaded that no commit of the test used yet (see upload_key_packages()).
  std::deque<std::string> spare_key_packages;
};

// A commit built by a test: the MLS output and the Commit request that carries it.
struct BuiltCommit {
  MlsMember::Commit mls;
  v1::ClientFrame frame;
};

class RelayFixture : public ::testing::Test {
 protected:
  // Starts the server with open registration plus `args`; remembered for restart_server().
  void start_server(std::vector<std::string> args = {}) {
    args_ = {"--registration", "open"};
    args_.insert(args_.end(), args.begin(), args.end());
    restart_server();
  }

  // Starts the server again on the same data folder with the same arguments.
  void restart_server() {
    std::string error;
    server_ = ServerProcess::start(data_dir(), args_, &error);
    ASSERT_TRUE(server_) << error;
  }

  std::string data_dir() const { return dir_.path() + "/data"; }

  // Writes a TOML config file in the temporary folder and returns its path.
  std::string write_config(const std::string& toml) {
    const std::string path = dir_.path() + "/cercle.toml";
    std::ofstream(path) << toml;
    return path;
  }

  std::unique_ptr<WsClient> connect() {
    auto c = WsClient::connect(server_->port());
    EXPECT_TRUE(c) << "cannot connect";
    return c;
  }

  // Registers a new account with one device and leaves it connected.
  void register_device(const std::string& handle, TestDevice* out, const std::string& code = {}) {
    out->ws = WsClient::connect(server_->port());
    ASSERT_TRUE(out->ws);
    auto auth = out->ws->hello_and_register(out->key, handle, code);
    ASSERT_TRUE(auth) << out->ws->last_error() << "\n" << server_->log();
    authenticated(out, *auth);
  }

  // Records what the relay said about a device that just authenticated (or registered) on
  // `d->ws`, and gives it its MLS side the first time, named by the handle as stored.
  void authenticated(TestDevice* d, const v1::AuthResult& auth) {
    d->account_id = auth.account_id();
    d->device_id = auth.device_id();
    d->handle = auth.handle();
    if (!d->mls) d->mls = std::make_unique<MlsMember>(auth.handle(), d->key.sk);
    if (std::find(devices_.begin(), devices_.end(), d) == devices_.end()) devices_.push_back(d);
  }

  // Adds a device to `owner`'s account (AddDevice with the chain's next link, signed by `owner`,
  // after the chain the relay serves) and connects it.
  void add_device(TestDevice& owner, TestDevice* out) {
    v1::ClientFrame lookup;
    lookup.mutable_lookup_account()->set_handle(owner.handle);
    auto account = owner.ws->call(lookup);
    ASSERT_TRUE(account && account->has_account())
        << (account ? account->error().message() : "timeout");
    const std::vector<v1::DeviceLink> links(account->account().chain().begin(),
                                            account->account().chain().end());
    const auto chain = policy::verify_chain(owner.handle, links);
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    v1::ClientFrame f;
    f.mutable_add_device()->set_device_public_key(out->key.public_key());
    *f.mutable_add_device()->mutable_link() =
        device_add_link(*chain, owner.handle, secret_bytes(owner.key.sk), out->key.public_key(),
                        secret_bytes(out->key.sk));
    auto r = owner.ws->call(f);
    ASSERT_TRUE(r && r->has_device()) << (r ? r->error().message() : "timeout");
    out->device_id = r->device().device_id();
    ASSERT_NO_FATAL_FAILURE(reconnect(out));
    ASSERT_EQ(out->account_id, owner.account_id);
  }

  // Opens a new connection for the device (dropping the old one) and authenticates it.
  void reconnect(TestDevice* d, std::chrono::milliseconds timeout = 5s) {
    d->ws.reset();
    d->ws = WsClient::connect(server_->port(), timeout);
    ASSERT_TRUE(d->ws);
    auto auth = d->ws->hello_and_authenticate(d->key);
    ASSERT_TRUE(auth) << d->ws->last_error();
    ASSERT_EQ(auth->device_id(), d->device_id);
    authenticated(d, *auth);
  }

  // Creates a group conversation and its MLS group (the conversation id is the MLS group id).
  void create_group(TestDevice& owner, std::string* conv) {
    auto r = owner.ws->call(create_group_frame());
    ASSERT_TRUE(r && r->has_conversation()) << (r ? r->error().message() : "timeout");
    ASSERT_EQ(r->conversation().epoch(), 0u);
    *conv = r->conversation().conversation_id();
    owner.mls->create(*conv);
  }

  // Uploads `n` fresh KeyPackages of `d` (online) and keeps them as spares for later commits.
  static void upload_key_packages(TestDevice& d, size_t n = 1) {
    ASSERT_TRUE(d.ws) << d.handle << " is offline: upload its key packages before it goes";
    v1::ClientFrame f;
    std::vector<std::string> packages;
    for (size_t i = 0; i < n; ++i) {
      packages.push_back(d.mls->key_package());
      f.mutable_upload_key_packages()->add_key_packages()->set_data(packages.back());
    }
    auto r = d.ws->call(f);
    ASSERT_TRUE(r && r->has_upload_key_packages()) << (r ? r->error().message() : "timeout");
    d.spare_key_packages.insert(d.spare_key_packages.end(), packages.begin(), packages.end());
  }

  // Builds `committer`'s MLS commit on its current epoch of `conv` and the Commit request for
  // `epoch`: it adds each device of `add` with `key_packages` (in order) or else with a spare
  // KeyPackage of the device (uploading a fresh one if it has none), and removes the leaves of
  // `remove` (from their own MLS state). Nothing is sent; the committer holds it pending until
  // accepted() or MlsMember::discard().
  static void build_commit(TestDevice& committer, const std::string& conv, uint64_t epoch,
                           const std::vector<TestDevice*>& add,
                           const std::vector<TestDevice*>& remove, BuiltCommit* out,
                           std::vector<std::string> key_packages = {}) {
    for (size_t i = key_packages.size(); i < add.size(); ++i) {
      if (add[i]->spare_key_packages.empty()) {
        ASSERT_NO_FATAL_FAILURE(upload_key_packages(*add[i]));
      }
      key_packages.push_back(add[i]->spare_key_packages.front());
      add[i]->spare_key_packages.pop_front();
    }
    std::vector<uint32_t> leaves;
    for (const auto* d : remove) leaves.push_back(d->mls->leaf(conv));
    // These tests are about the relay's mechanics: whoever commits, and whoever they add, is made
    // a facilitator so that the group rules allow it (tests/relay_groups_test.cpp tests the rules).
    std::vector<std::string> added_handles;
    for (const auto* d : add) added_handles.push_back(d->handle);
    // A direct conversation has no rules: none is set there.
    bool direct = false;
    if (committer.ws) {
      v1::ClientFrame get;
      get.mutable_get_conversation()->set_conversation_id(conv);
      auto info = committer.ws->call(get);
      direct = info && info->has_conversation() && info->conversation().kind() == v1::DIRECT;
    }
    out->mls = committer.mls->commit(
        conv, key_packages, leaves,
        direct ? std::nullopt
               : testing::facilitating_policy(committer.mls->policy(conv), committer.handle,
                                              added_handles));
    std::vector<uint64_t> add_ids, remove_ids;
    for (const auto* d : add) add_ids.push_back(d->device_id);
    for (const auto* d : remove) remove_ids.push_back(d->device_id);
    out->frame = commit_frame(conv, epoch, out->mls, add_ids, remove_ids);
  }

  // The relay accepted `c` from `committer`: the committer adopts it and every other device still
  // in the MLS group processes it (as it would from its COMMIT delivery), so that any of them can
  // commit next. Added devices are left to join().
  void accepted(TestDevice& committer, const std::string& conv, const BuiltCommit& c) {
    committer.mls->adopt(conv);
    for (TestDevice* d : devices_) {
      if (d == &committer || !d->mls->in_group(conv)) continue;
      EXPECT_TRUE(d->mls->process(conv, c.mls.message))
          << d->handle << " cannot process the commit";
    }
  }

  static void join(TestDevice& d, const std::string& conv, const std::string& welcome) {
    ASSERT_TRUE(d.mls->join(conv, welcome)) << d.handle << " cannot join from the Welcome";
  }

  // Builds and submits a commit (see build_commit()); on success the members move on and the added
  // devices join from the commit's Welcome, on failure the committer drops it. `r` gets the answer.
  void try_commit(TestDevice& committer, const std::string& conv, uint64_t epoch,
                  const std::vector<TestDevice*>& add, const std::vector<TestDevice*>& remove,
                  std::optional<v1::Response>* r) {
    BuiltCommit c;
    ASSERT_NO_FATAL_FAILURE(build_commit(committer, conv, epoch, add, remove, &c));
    *r = committer.ws->call(c.frame);
    ASSERT_TRUE(*r) << "timeout";
    if (!(*r)->has_commit()) {
      committer.mls->discard(conv);
      return;
    }
    accepted(committer, conv, c);
    for (auto* d : add) ASSERT_NO_FATAL_FAILURE(join(*d, conv, c.mls.welcome));
  }

  // `committer` commits at `epoch`, adding `added`; each added device that is online must get the
  // commit as its WELCOME, and joins from it (an offline one joins from the commit's Welcome
  // directly). Returns the commit's sequence number in `seq`.
  void add_members(TestDevice& committer, const std::string& conv, uint64_t epoch,
                   const std::vector<TestDevice*>& added, uint64_t* seq = nullptr) {
    BuiltCommit c;
    ASSERT_NO_FATAL_FAILURE(build_commit(committer, conv, epoch, added, {}, &c));
    auto r = committer.ws->call(c.frame);
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    ASSERT_EQ(r->commit().epoch(), epoch + 1);
    if (seq) *seq = r->commit().seq();
    accepted(committer, conv, c);
    for (auto* d : added) {
      if (!d->ws) {
        ASSERT_NO_FATAL_FAILURE(join(*d, conv, c.mls.welcome));
        continue;
      }
      auto w = d->ws->next_delivery();
      ASSERT_TRUE(w) << "no welcome for device " << d->device_id;
      ASSERT_EQ(w->kind(), v1::WELCOME);
      ASSERT_EQ(w->seq(), r->commit().seq());
      ASSERT_NO_FATAL_FAILURE(join(*d, conv, w->payload()));
    }
  }

  // Creates a group of `members` (the first one creates it and adds the others): epoch 1.
  void make_group(const std::vector<TestDevice*>& members, std::string* conv) {
    ASSERT_NO_FATAL_FAILURE(create_group(*members[0], conv));
    std::vector<TestDevice*> rest(members.begin() + 1, members.end());
    ASSERT_NO_FATAL_FAILURE(add_members(*members[0], *conv, 0, rest));
  }

  // `d`'s application message `text` in `conv`: an MLS PrivateMessage of its current epoch.
  static std::string message(TestDevice& d, const std::string& conv, const std::string& text) {
    return d.mls->encrypt(conv, text);
  }

  // What `d` reads in an application message of `conv` (in the order they were sent by each
  // sender), or "(unreadable)".
  static std::string text_of(TestDevice& d, const std::string& conv, const std::string& payload) {
    return d.mls->decrypt(conv, payload).value_or("(unreadable)");
  }

  // `d`'s application message `text`, remembered under `index` so that index_of() names it when it
  // comes back (a device that gets an entry twice, after a reconnection, cannot decrypt it twice).
  std::string numbered(TestDevice& d, const std::string& conv, int index, const std::string& text) {
    std::string m = message(d, conv, text);
    numbered_.emplace(m, index);
    return m;
  }
  int index_of(const std::string& m) const {
    auto it = numbered_.find(m);
    return it == numbered_.end() ? -1 : it->second;
  }

  // `d` sends `text` as an application message (see message()) and expects its SendResult.
  void say(TestDevice& d, const std::string& conv, uint64_t epoch, const std::string& text,
           uint64_t* seq = nullptr) {
    ASSERT_NO_FATAL_FAILURE(send_ok(d, conv, epoch, message(d, conv, text), seq));
  }

  // Sends an application message and expects its SendResult.
  void send_ok(TestDevice& d, const std::string& conv, uint64_t epoch, const std::string& payload,
               uint64_t* seq = nullptr) {
    auto r = d.ws->call(send_frame(conv, epoch, payload));
    ASSERT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
    if (seq) *seq = r->send().seq();
  }

  // Reads the whole log of `conv` as `d` sees it, through FetchLog pages.
  static void fetch_all(TestDevice& d, const std::string& conv, std::vector<v1::Delivery>* out) {
    ASSERT_NO_FATAL_FAILURE(fetch_all(*d.ws, conv, out));
  }

  // Same, on any authenticated connection (a device of another server, for instance).
  static void fetch_all(WsClient& ws, const std::string& conv, std::vector<v1::Delivery>* out) {
    uint64_t after = 0;
    for (;;) {
      v1::ClientFrame f;
      f.mutable_fetch_log()->set_conversation_id(conv);
      f.mutable_fetch_log()->set_after_seq(after);
      f.mutable_fetch_log()->set_limit(1000);
      auto r = ws.call(f);
      ASSERT_TRUE(r && r->has_log()) << (r ? r->error().message() : "timeout");
      if (r->log().entries().empty()) return;
      for (const auto& e : r->log().entries()) out->push_back(e);
      after = out->back().seq();
    }
  }

  TempDir dir_;
  std::vector<std::string> args_;
  std::unique_ptr<ServerProcess> server_;
  // Every device of the test (they live in the test body), for accepted().
  std::vector<TestDevice*> devices_;
  std::map<std::string, int> numbered_;  // Sent message -> its index (numbered()).
};

// `inviter` invites `invitee` to `conv` as a professional, as a facilitator's client does (the
// group's charter, an hour to answer, a fresh nonce), and the relay records it. The signed
// invitation goes to `out` when given. Use inside ASSERT_NO_FATAL_FAILURE(...).
inline void invite_professional(TestDevice& inviter, const std::string& conv,
                                const std::string& invitee, v1::SignedInvitation* out = nullptr) {
  v1::GroupPolicy rules;
  ASSERT_TRUE(rules.ParseFromString(inviter.mls->policy(conv).value_or("")));
  v1::Invitation i;
  i.set_conversation_id(conv);
  i.set_inviter(inviter.handle);
  i.set_invitee(invitee);
  i.set_invitee_type(v1::INVITEE_PROFESSIONAL);
  i.set_charter(rules.charter());
  i.set_expires_at_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch() +
                          std::chrono::hours(1))
                          .count());
  std::string nonce(16, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  i.set_nonce(nonce);
  const v1::SignedInvitation signed_invitation = policy::sign_invitation(i, inviter.key.sk);
  if (out) *out = signed_invitation;
  v1::ClientFrame f;
  f.mutable_create_invitation()->set_signed_invitation(signed_invitation.SerializeAsString());
  auto r = inviter.ws->call(f);
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
}

}  // namespace cercle::testing

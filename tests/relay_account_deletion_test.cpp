// DeleteAccount against the real server: a stray request deletes nothing; a deletion takes effect
// at once (no sign-in, no lookup, no key packages, no contact link, the handle never given again)
// while the groups the account was in keep working; once the others committed its removal, the
// sweep deletes its last records, and the data folder still loads.
#include <gtest/gtest.h>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayAccountDeletionTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server()); }

  static v1::ClientFrame delete_frame(const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_delete_account()->set_handle(handle);
    return f;
  }
  static v1::ClientFrame lookup_frame(const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_lookup_account()->set_handle(handle);
    return f;
  }
  static v1::ClientFrame fetch_frame(const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_fetch_key_packages()->set_handle(handle);
    return f;
  }
  static v1::ClientFrame resolve_frame(const std::string& token) {
    v1::ClientFrame f;
    f.mutable_resolve_contact_link()->set_token(token);
    return f;
  }
  static v1::ClientFrame proposal_frame(const std::string& conv, uint64_t epoch,
                                        std::string payload) {
    v1::ClientFrame f = send_frame(conv, epoch, std::move(payload));
    f.mutable_send()->set_kind(v1::PROPOSAL);
    return f;
  }

  std::string make_link(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_create_contact_link()->set_presentation("bonjour");
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_contact_link()) << (r ? r->error().message() : "timeout");
    return r && r->has_contact_link() ? r->contact_link().token() : "";
  }

  // `d` deletes its account with `handle`; the relay answers Done and closes the connection.
  static void delete_account(TestDevice& d, const std::string& handle) {
    auto r = d.ws->call(delete_frame(handle));
    ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
    EXPECT_TRUE(d.ws->wait_closed());
  }

  // What cercle-admin counts (through the running server, or in the stopped server's folder).
  std::string stats() { return run_admin(data_dir(), {"--json", "stats"}); }
  void expect_count(const std::string& what, int n) {
    const std::string counts = stats();
    EXPECT_NE(counts.find("\"" + what + "\":" + std::to_string(n)), std::string::npos)
        << what << " != " << n << ": " << counts;
  }

  // A new device registering `handle` gets `code`.
  void expect_registration(const std::string& handle, v1::ErrorCode code) {
    auto c = connect();
    ASSERT_TRUE(c->hello());
    DeviceKey key;
    EXPECT_EQ(error_of(c->register_device(key, handle)), code) << handle;
  }
};

TEST_F(RelayAccountDeletionTest, AWrongHandleDeletesNothing) {
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob));
  const std::string token = make_link(bob);
  for (const std::string& wrong : {"alice", "", "bobby", "b"}) {
    EXPECT_EQ(error_of(bob.ws->call(delete_frame(wrong))), v1::INVALID_ARGUMENT) << wrong;
  }
  // Still whole: bob is found, has his key package and link, and signs in again.
  EXPECT_TRUE(alice.ws->call(lookup_frame("bob"))->has_account());
  EXPECT_TRUE(alice.ws->call(resolve_frame(token))->has_contact_link());
  auto kps = alice.ws->call(fetch_frame("bob"));
  ASSERT_TRUE(kps && kps->has_fetch_key_packages());
  EXPECT_EQ(kps->fetch_key_packages().key_packages(0).data(), bob.spare_key_packages.front());
  ASSERT_NO_FATAL_FAILURE(reconnect(&bob));
  expect_count("accounts", 2);
}

TEST_F(RelayAccountDeletionTest, ADeletedAccountIsGoneAtOnceAndItsHandleStaysTaken) {
  TestDevice alice, bob, bob_phone;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("Bob", &bob));
  ASSERT_NO_FATAL_FAILURE(add_device(bob, &bob_phone));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob, 2));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob_phone));
  const std::string token = make_link(bob);
  expect_count("key_packages", 3);

  // The handle as typed differently still names the account: the deletion is confirmed.
  ASSERT_NO_FATAL_FAILURE(delete_account(bob, "BOB"));
  EXPECT_TRUE(bob_phone.ws->wait_closed());  // Every device's connection closes.

  for (TestDevice* d : {&bob, &bob_phone}) {
    auto c = connect();
    ASSERT_TRUE(c->hello());
    EXPECT_EQ(error_of(c->authenticate(d->key)), v1::AUTH_FAILED);
  }
  EXPECT_EQ(error_of(alice.ws->call(lookup_frame("bob"))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(alice.ws->call(fetch_frame("bob"))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(alice.ws->call(resolve_frame(token))), v1::NOT_FOUND);
  v1::ClientFrame direct;
  direct.mutable_create_conversation()->set_kind(v1::DIRECT);
  direct.mutable_create_conversation()->set_peer_handle("bob");
  EXPECT_EQ(error_of(alice.ws->call(direct)), v1::NOT_FOUND);
  expect_count("key_packages", 0);
  expect_count("contact_links", 0);
  ASSERT_NO_FATAL_FAILURE(expect_registration("bob", v1::HANDLE_TAKEN));
  ASSERT_NO_FATAL_FAILURE(expect_registration("\xEF\xBC\xA2ob", v1::HANDLE_TAKEN));  // Fullwidth B.

  // In no conversation, its last records went at once; after a restart too the handle is taken.
  expect_count("accounts", 1);
  expect_count("devices", 1);
  ASSERT_EQ(server_->terminate(), 0);
  expect_count("accounts", 1);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(expect_registration("bob", v1::HANDLE_TAKEN));
  ASSERT_NO_FATAL_FAILURE(expect_registration("bobette", v1::ERROR_CODE_UNSPECIFIED));
}

TEST_F(RelayAccountDeletionTest, TheGroupGoesOnAndTheLastRecordsGoOnceTheOthersRemovedIt) {
  TestDevice alice, bob, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob, &carol}, &conv));

  // bob leaves as clients do (his own removal proposed), then deletes his account.
  const std::string leave = bob.mls->propose_remove(conv, bob.mls->leaf(conv));
  auto proposed = bob.ws->call(proposal_frame(conv, 1, leave));
  ASSERT_TRUE(proposed && proposed->has_send())
      << (proposed ? proposed->error().message() : "timeout");
  for (TestDevice* d : {&alice, &carol}) {
    auto got = d->ws->next_delivery();
    ASSERT_TRUE(got && got->kind() == v1::PROPOSAL);
    ASSERT_TRUE(d->mls->process(conv, got->payload()));
  }
  ASSERT_NO_FATAL_FAILURE(delete_account(bob, "bob"));

  // The group works for the others while bob's leaf is still in it.
  std::string payload = message(alice, conv, "on continue");
  ASSERT_NO_FATAL_FAILURE(send_ok(alice, conv, 1, payload));
  auto got = carol.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(carol, conv, got->payload()), "on continue");
  // Still a member of the group: the sweep keeps his records.
  EXPECT_NE(run_admin(data_dir(), {"--json", "retention", "run"}).find("\"accounts_purged\":0"),
            std::string::npos);
  expect_count("accounts", 3);

  // alice commits bob's proposal, as clients do; the sweep then deletes his last records.
  const MlsMember::Commit commit = alice.mls->commit(conv, {});
  auto r = alice.ws->call(commit_frame(conv, 1, commit.message, {}, {bob.device_id}));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  alice.mls->adopt(conv);
  got = carol.ws->next_delivery();
  ASSERT_TRUE(got && got->kind() == v1::COMMIT);
  ASSERT_TRUE(carol.mls->process(conv, got->payload()));
  EXPECT_NE(run_admin(data_dir(), {"--json", "retention", "run"}).find("\"accounts_purged\":1"),
            std::string::npos);
  expect_count("accounts", 2);
  expect_count("devices", 2);

  // The stopped server's folder holds only alice's and carol's accounts and devices, and loads.
  alice.ws.reset();
  carol.ws.reset();
  ASSERT_EQ(server_->terminate(), 0);
  expect_count("accounts", 2);
  expect_count("devices", 2);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice));
  ASSERT_NO_FATAL_FAILURE(reconnect(&carol));
  ASSERT_NO_FATAL_FAILURE(say(carol, conv, 2, "toujours là"));
  std::vector<v1::Delivery> log;
  ASSERT_NO_FATAL_FAILURE(fetch_all(alice, conv, &log));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(text_of(alice, conv, log.back().payload()), "toujours là");
  ASSERT_NO_FATAL_FAILURE(expect_registration("bob", v1::HANDLE_TAKEN));
}

TEST_F(RelayAccountDeletionTest, ARestartKeepsAnAccountDeletedWhileStillInAGroup) {
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob}, &conv));
  ASSERT_NO_FATAL_FAILURE(delete_account(bob, "bob"));
  alice.ws.reset();
  server_->kill9();
  expect_count("accounts", 2);  // Phase 1 only: bob's leaf is still in the group.

  // The folder loads with the deleted account in it; bob stays out, alice removes his leaf.
  ASSERT_NO_FATAL_FAILURE(restart_server());
  auto c = connect();
  ASSERT_TRUE(c->hello());
  EXPECT_EQ(error_of(c->authenticate(bob.key)), v1::AUTH_FAILED);
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice));
  EXPECT_EQ(error_of(alice.ws->call(lookup_frame("bob"))), v1::NOT_FOUND);
  std::optional<v1::Response> r;
  ASSERT_NO_FATAL_FAILURE(try_commit(alice, conv, 1, {}, {&bob}, &r));
  ASSERT_TRUE(r->has_commit()) << r->error().message();
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 2, "seule"));
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());  // Start-up runs the sweep.
  expect_count("accounts", 1);
  expect_count("devices", 1);
}

TEST_F(RelayAccountDeletionTest, TheServersCommandLineDeletesAnAccountByItsHandle) {
  TestDevice bob;
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  int status = -1;
  run_admin(data_dir(), {"account", "delete", "nobody"}, &status);
  EXPECT_NE(status, 0);
  run_admin(data_dir(), {"account", "delete", "Bob"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_TRUE(bob.ws->wait_closed());
  auto c = connect();
  ASSERT_TRUE(c->hello());
  EXPECT_EQ(error_of(c->authenticate(bob.key)), v1::AUTH_FAILED);
  ASSERT_NO_FATAL_FAILURE(expect_registration("bob", v1::HANDLE_TAKEN));
  expect_count("accounts", 0);
}

}  // namespace
}  // namespace cercle::testing

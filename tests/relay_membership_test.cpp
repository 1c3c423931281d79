// Who reads a conversation, against the real server: a Welcome reaches an added device only
// through its accepted commit (online or when it comes back), only members write or read, and a
// removed device gets its removal commit and nothing after. Commits and Welcomes are real MLS (the
// relay reads them). Direct conversations, races, order and epochs: relay_conversation_test.cpp.
#include <gtest/gtest.h>

#include "tests/relay_conversation_fixture.h"

namespace cercle::testing {
namespace {

class RelayMembershipTest : public RelayConversationTest {
 protected:
  // `d`, added while online, reads `sent` (`text`, the first application message after its
  // Welcome) live, and its log holds nothing from before its Welcome.
  static void expect_reads_from_its_welcome_only(TestDevice& d, const std::string& conv,
                                                 const std::string& sent, const std::string& text) {
    auto next = d.ws->next_delivery();
    ASSERT_TRUE(next);
    EXPECT_EQ(text_of(d, conv, next->payload()), text);
    auto log = d.ws->call(fetch_frame(conv));
    ASSERT_TRUE(log && log->has_log());
    ASSERT_EQ(log->log().entries_size(), 2);
    EXPECT_EQ(log->log().entries(0).kind(), v1::WELCOME);
    EXPECT_EQ(log->log().entries(1).payload(), sent);
  }

  // `d`, added while offline, comes back: it gets `welcome`, joins from it, then reads `text`.
  void expect_catches_up_from(TestDevice& d, const std::string& conv, const std::string& welcome,
                              const std::string& text) {
    ASSERT_NO_FATAL_FAILURE(reconnect(&d));
    auto got = d.ws->deliveries(2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].kind(), v1::WELCOME);
    EXPECT_EQ(got[0].payload(), welcome);
    ASSERT_NO_FATAL_FAILURE(join(d, conv, got[0].payload()));
    EXPECT_EQ(text_of(d, conv, got[1].payload()), text);
  }

  static v1::ClientFrame list_frame() {
    v1::ClientFrame list;
    list.mutable_list_conversations();
    return list;
  }
};

// A group of alice, bob, carol and dave (epoch 1), from which alice removes carol (online) and
// dave (offline) with remove_carol_and_dave().
class RelayRemovalTest : public RelayMembershipTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RelayMembershipTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &a_));
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &b_));
    ASSERT_NO_FATAL_FAILURE(register_device("carol", &c_));
    ASSERT_NO_FATAL_FAILURE(register_device("dave", &d_));
    ASSERT_NO_FATAL_FAILURE(make_group({&a_, &b_, &c_, &d_}, &conv_));
  }

  void remove_carol_and_dave() {
    from_carol_ = message(c_, conv_, "still here?");  // While she is a member.
    d_.ws.reset();
    ASSERT_NO_FATAL_FAILURE(build_commit(a_, conv_, 1, {}, {&c_, &d_}, &removing_));
    auto r = a_.ws->call(removing_.frame);
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    removal_ = r->commit().seq();
    accepted(a_, conv_, removing_);
  }

  TestDevice a_, b_, c_, d_;
  std::string conv_;
  std::string from_carol_;  // carol's message, made before her removal.
  BuiltCommit removing_;
  uint64_t removal_ = 0;  // The removal commit's sequence number.
};

// Rejected commits deliver no Welcome: stale epoch, missing welcome, unknown device. Each carries a
// real Welcome for carol (but the missing one).
TEST_F(RelayMembershipTest, ARejectedCommitDeliversNoWelcome) {
  TestDevice a, b, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  BuiltCommit stale;
  ASSERT_NO_FATAL_FAILURE(build_commit(b, conv, 0, {&carol}, {}, &stale));
  auto r = b.ws->call(stale.frame);
  EXPECT_EQ(error_of(r), v1::STALE_EPOCH);
  EXPECT_EQ(r->error().current_epoch(), 1u);
  b.mls->discard(conv);
  BuiltCommit no_welcome;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {&carol}, {}, &no_welcome));
  no_welcome.frame.mutable_commit()->clear_welcome();
  EXPECT_EQ(error_of(a.ws->call(no_welcome.frame)), v1::INVALID_ARGUMENT);
  a.mls->discard(conv);
  // Next to carol, a device the relay does not know: its KeyPackage was never uploaded.
  TestDevice stranger;
  stranger.device_id = 12345;
  stranger.mls = std::make_unique<MlsMember>("stranger", stranger.key.sk);
  stranger.spare_key_packages.push_back(stranger.mls->key_package());
  BuiltCommit unknown;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {&carol, &stranger}, {}, &unknown));
  EXPECT_EQ(error_of(a.ws->call(unknown.frame)), v1::NOT_FOUND);
  a.mls->discard(conv);
  EXPECT_TRUE(carol.ws->nothing_before_round_trip()) << "a Welcome escaped a rejected commit";
  EXPECT_TRUE(b.ws->nothing_before_round_trip()) << "a rejected commit was delivered";
}

TEST_F(RelayMembershipTest, TheWelcomeReachesAnAddedDeviceOnlyThroughItsAcceptedCommit) {
  TestDevice a, b, carol, dave;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  ASSERT_NO_FATAL_FAILURE(register_device("dave", &dave));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  ASSERT_NO_FATAL_FAILURE(say(a, conv, 1, "before carol"));
  ASSERT_TRUE(b.ws->next_delivery());

  // dave is offline when he is added (his KeyPackage uploaded before he left): he gets the Welcome
  // when he comes back.
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(dave));
  dave.ws.reset();
  BuiltCommit adding;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {&carol, &dave}, {}, &adding));
  auto ok = a.ws->call(adding.frame);
  ASSERT_TRUE(ok && ok->has_commit()) << ok->error().message();
  accepted(a, conv, adding);
  auto w = carol.ws->next_delivery();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->kind(), v1::WELCOME);
  EXPECT_EQ(w->payload(), adding.mls.welcome);
  ASSERT_NO_FATAL_FAILURE(join(carol, conv, w->payload()));
  EXPECT_EQ(w->seq(), ok->commit().seq());
  EXPECT_EQ(w->epoch(), 1u);
  EXPECT_EQ(std::vector<uint64_t>(w->added_devices().begin(), w->added_devices().end()),
            (std::vector<uint64_t>{carol.device_id, dave.device_id}));
  // Existing members get the commit itself.
  auto c = b.ws->next_delivery();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind(), v1::COMMIT);
  EXPECT_EQ(c->payload(), adding.mls.message);
  const std::string after_carol = message(b, conv, "after carol");
  ASSERT_NO_FATAL_FAILURE(send_ok(b, conv, 2, after_carol));
  ASSERT_NO_FATAL_FAILURE(
      expect_reads_from_its_welcome_only(carol, conv, after_carol, "after carol"));
  ASSERT_NO_FATAL_FAILURE(expect_catches_up_from(dave, conv, adding.mls.welcome, "after carol"));
  // Both added devices are in the group a and b moved to.
  for (TestDevice* d : {&b, &carol, &dave}) {
    EXPECT_EQ(d->mls->epoch_authenticator(conv), a.mls->epoch_authenticator(conv)) << d->handle;
  }
}

TEST_F(RelayMembershipTest, OnlyMembersMayWriteOrRead) {
  TestDevice a, b, outsider;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("mallory", &outsider));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  const std::string secret = message(a, conv, "secret");
  ASSERT_NO_FATAL_FAILURE(send_ok(a, conv, 1, secret));

  auto& o = *outsider.ws;
  // A well-formed message from a group of mallory's making with this id.
  outsider.mls->create(conv);
  EXPECT_EQ(error_of(o.call(send_frame(conv, 1, message(outsider, conv, "intrusion")))),
            v1::FORBIDDEN);
  // A well-formed commit adding mallory: from a group of her making with this id, at epoch 1,
  // sent from leaf 0 (alice's leaf in the real group) with alice's name.
  DeviceKey forged_key;
  MlsMember forger("alice", forged_key.sk);
  forger.create(conv);
  forger.commit(conv, {});
  forger.adopt(conv);
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(outsider));
  auto forged = forger.commit(conv, {outsider.spare_key_packages.front()});
  EXPECT_EQ(error_of(o.call(
                commit_frame(conv, 1, forged.message, {outsider.device_id}, {}, forged.welcome))),
            v1::FORBIDDEN);
  EXPECT_EQ(error_of(o.call(fetch_frame(conv))), v1::FORBIDDEN);
  EXPECT_EQ(error_of(o.call(get_frame(conv))), v1::FORBIDDEN);
  EXPECT_EQ(error_of(o.call(ack_frame(conv, 2))), v1::FORBIDDEN);
  auto mine = o.call(list_frame());
  ASSERT_TRUE(mine && mine->has_conversations());
  EXPECT_EQ(mine->conversations().conversations_size(), 0);
  EXPECT_TRUE(o.nothing_before_round_trip());

  // The members saw none of it; the conversation is unchanged.
  auto got = b.ws->deliveries(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), secret);
  EXPECT_TRUE(b.ws->nothing_before_round_trip());
  auto info = a.ws->call(get_frame(conv));
  ASSERT_TRUE(info && info->has_conversation());
  EXPECT_EQ(info->conversation().epoch(), 1u);
  EXPECT_EQ(info->conversation().head_seq(), 2u);
}

// MLS has no commit removing its own author: one that says it does is refused.
TEST_F(RelayRemovalTest, ACommitRemovingItsOwnAuthorIsRefused) {
  BuiltCommit self;
  ASSERT_NO_FATAL_FAILURE(build_commit(c_, conv_, 1, {}, {}, &self));
  self.frame.mutable_commit()->add_remove_devices(c_.device_id);
  EXPECT_EQ(error_of(c_.ws->call(self.frame)), v1::INVALID_ARGUMENT);
  c_.mls->discard(conv_);
  ASSERT_NO_FATAL_FAILURE(remove_carol_and_dave());  // The group goes on.
}

TEST_F(RelayRemovalTest, ARemovedDeviceGetsItsRemovalCommitAndNothingAfter) {
  ASSERT_NO_FATAL_FAILURE(remove_carol_and_dave());
  EXPECT_FALSE(c_.mls->in_group(conv_)) << "carol's MLS state does not see her removal";
  auto got = c_.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind(), v1::COMMIT);
  EXPECT_EQ(got->seq(), removal_);
  EXPECT_EQ(got->payload(), removing_.mls.message);
  EXPECT_EQ(std::vector<uint64_t>(got->removed_devices().begin(), got->removed_devices().end()),
            (std::vector<uint64_t>{c_.device_id, d_.device_id}));
  ASSERT_TRUE(b_.ws->next_delivery());
  // Removing carol again: MLS has no leaf of hers left to remove, so only the request names her.
  BuiltCommit again;
  ASSERT_NO_FATAL_FAILURE(build_commit(a_, conv_, 2, {}, {}, &again));
  again.frame.mutable_commit()->add_remove_devices(c_.device_id);
  EXPECT_EQ(error_of(a_.ws->call(again.frame)), v1::INVALID_ARGUMENT);
  a_.mls->discard(conv_);

  ASSERT_NO_FATAL_FAILURE(say(a_, conv_, 2, "after removal"));
  ASSERT_NO_FATAL_FAILURE(say(b_, conv_, 2, "after removal 2"));
  EXPECT_EQ(b_.ws->deliveries(1).size(), 1u);
  EXPECT_TRUE(c_.ws->nothing_before_round_trip()) << "a removed device got a later message";
  EXPECT_EQ(error_of(c_.ws->call(send_frame(conv_, 2, from_carol_))), v1::FORBIDDEN);
}

// eve joins after carol's removal: carol, who has not acknowledged it yet, learns neither who is
// in the group now nor how far its log went; dave, offline then, catches up to his removal only.
TEST_F(RelayRemovalTest, ARemovedDeviceSeesNeitherWhoCameAfterNorTheLogPastItsRemoval) {
  ASSERT_NO_FATAL_FAILURE(remove_carol_and_dave());
  ASSERT_NO_FATAL_FAILURE(say(a_, conv_, 2, "after removal"));
  TestDevice e;
  ASSERT_NO_FATAL_FAILURE(register_device("eve", &e));
  ASSERT_NO_FATAL_FAILURE(add_members(a_, conv_, 2, {&e}));
  auto seen = c_.ws->call(get_frame(conv_));
  ASSERT_TRUE(seen && seen->has_conversation());
  EXPECT_EQ(seen->conversation().members_size(), 0);
  EXPECT_EQ(seen->conversation().head_seq(), removal_);
  auto listed = c_.ws->call(list_frame());
  ASSERT_TRUE(listed && listed->has_conversations());
  ASSERT_EQ(listed->conversations().conversations_size(), 1);
  EXPECT_EQ(listed->conversations().conversations(0).members_size(), 0);
  EXPECT_EQ(listed->conversations().conversations(0).head_seq(), removal_);
  // Its history ends at its removal.
  auto log = c_.ws->call(fetch_frame(conv_));
  ASSERT_TRUE(log && log->has_log());
  ASSERT_GT(log->log().entries_size(), 0);
  EXPECT_EQ(log->log().entries(log->log().entries_size() - 1).seq(), removal_);

  // dave, back online, catches up to his removal and no further.
  ASSERT_NO_FATAL_FAILURE(reconnect(&d_));
  auto caught = d_.ws->deliveries(2);
  ASSERT_EQ(caught.size(), 2u);
  EXPECT_EQ(caught[0].kind(), v1::WELCOME);
  EXPECT_EQ(caught[1].seq(), removal_);
  EXPECT_TRUE(d_.ws->nothing_before_round_trip()) << "dave got entries after his removal";
  // Once it acknowledged its removal the conversation is gone for it.
  auto ack = d_.ws->call(ack_frame(conv_, removal_));
  ASSERT_TRUE(ack && ack->has_ack());
  EXPECT_EQ(ack->ack().cursor(), removal_);
  EXPECT_EQ(error_of(d_.ws->call(fetch_frame(conv_))), v1::FORBIDDEN);
  // The remaining members are unaffected.
  auto info = a_.ws->call(get_frame(conv_));
  ASSERT_TRUE(info && info->has_conversation());
  EXPECT_EQ(info->conversation().members_size(), 3);
}

}  // namespace
}  // namespace cercle::testing

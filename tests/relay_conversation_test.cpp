// Conversations against the real server: direct conversations, racing commits, fan-out order,
// Welcome delivery, membership checks, stale epochs and removal. Commits, proposals and Welcomes
// are real MLS (the relay reads them); application payloads are opaque bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayConversationTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false"})); }

  // Registers `n` devices named prefix0, prefix1, ...
  void register_many(const std::string& prefix, size_t n, std::vector<TestDevice>* out) {
    out->resize(n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NO_FATAL_FAILURE(register_device(prefix + std::to_string(i), &(*out)[i]));
    }
  }
  static std::vector<TestDevice*> ptrs(std::vector<TestDevice>& v) {
    std::vector<TestDevice*> out;
    for (auto& d : v) out.push_back(&d);
    return out;
  }
  static v1::ClientFrame get_frame(const std::string& conv) {
    v1::ClientFrame f;
    f.mutable_get_conversation()->set_conversation_id(conv);
    return f;
  }
  static v1::ClientFrame fetch_frame(const std::string& conv, uint64_t after = 0) {
    v1::ClientFrame f;
    f.mutable_fetch_log()->set_conversation_id(conv);
    f.mutable_fetch_log()->set_after_seq(after);
    f.mutable_fetch_log()->set_limit(100);
    return f;
  }
};

TEST_F(RelayConversationTest, ADirectConversationAdmitsOnlyTheDevicesOfItsTwoAccounts) {
  TestDevice alice, bob, bob2, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(add_device(bob, &bob2));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));

  v1::ClientFrame direct;
  direct.mutable_create_conversation()->set_kind(v1::DIRECT);
  direct.mutable_create_conversation()->set_peer_handle("alice");
  EXPECT_EQ(error_of(alice.ws->call(direct)), v1::INVALID_ARGUMENT);  // Not with itself.
  direct.mutable_create_conversation()->set_peer_handle("nobody");
  EXPECT_EQ(error_of(alice.ws->call(direct)), v1::NOT_FOUND);
  direct.mutable_create_conversation()->set_peer_handle("BOB");
  auto created = alice.ws->call(direct);
  ASSERT_TRUE(created && created->has_conversation()) << created->error().message();
  EXPECT_EQ(created->conversation().kind(), v1::DIRECT);
  const std::string conv = created->conversation().conversation_id();
  EXPECT_EQ(conv.size(), 16u);
  alice.mls->create(conv);

  // A third account's device cannot be added, alone or next to an allowed one.
  std::optional<v1::Response> r;
  ASSERT_NO_FATAL_FAILURE(try_commit(alice, conv, 0, {&carol}, {}, &r));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN);
  ASSERT_NO_FATAL_FAILURE(try_commit(alice, conv, 0, {&bob, &carol}, {}, &r));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN);
  EXPECT_FALSE(carol.ws->next_delivery(200ms)) << "carol got something from a refused commit";
  ASSERT_NO_FATAL_FAILURE(add_members(alice, conv, 0, {&bob, &bob2}));

  auto info = bob.ws->call(get_frame(conv));
  ASSERT_TRUE(info && info->has_conversation());
  EXPECT_EQ(info->conversation().epoch(), 1u);
  EXPECT_EQ(info->conversation().members_size(), 3);

  // Both ways: each message reaches every other device, never its sender.
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "bonjour bob"));
  ASSERT_NO_FATAL_FAILURE(say(bob, conv, 1, "bonjour alice"));
  for (auto* d : {&bob, &bob2, &alice}) {
    auto got = d->ws->deliveries(d == &bob2 ? 2 : 1);
    std::vector<std::string> payloads;
    for (const auto& g : got) payloads.push_back(text_of(*d, conv, g.payload()));
    if (d == &bob2) {
      EXPECT_EQ(payloads, (std::vector<std::string>{"bonjour bob", "bonjour alice"}));
    } else {
      EXPECT_EQ(payloads, (std::vector<std::string>{d == &bob ? "bonjour bob" : "bonjour alice"}));
    }
  }
  EXPECT_FALSE(carol.ws->next_delivery(100ms));
  // Later commits keep the rule.
  ASSERT_NO_FATAL_FAILURE(try_commit(bob, conv, 1, {&carol}, {}, &r));
  EXPECT_EQ(error_of(r), v1::FORBIDDEN);
}

TEST_F(RelayConversationTest, TwoCommitsForTheSameEpochExactlyOneWins) {
  std::vector<TestDevice> m;
  ASSERT_NO_FATAL_FAILURE(register_many("member", 5, &m));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group(ptrs(m), &conv));
  uint64_t epoch = 1;
  // Several rounds, different pairs racing each time.
  for (size_t round = 0; round < 4; ++round) {
    TestDevice& x = m[1 + round % 4];
    TestDevice& y = m[(2 + round) % 5];
    // Both commits are built on the same epoch, and both are on the wire before either answer is
    // read.
    BuiltCommit cx, cy;
    ASSERT_NO_FATAL_FAILURE(build_commit(x, conv, epoch, {}, {}, &cx));
    ASSERT_NO_FATAL_FAILURE(build_commit(y, conv, epoch, {}, {}, &cy));
    const uint64_t idx = x.ws->send(cx.frame);
    const uint64_t idy = y.ws->send(cy.frame);
    auto rx = x.ws->wait_response(idx);
    auto ry = y.ws->wait_response(idy);
    ASSERT_TRUE(rx && ry);
    ASSERT_NE(rx->has_commit(), ry->has_commit()) << "exactly one commit must win";
    TestDevice& winner = rx->has_commit() ? x : y;
    TestDevice& loser = rx->has_commit() ? y : x;
    const auto& win = rx->has_commit() ? *rx : *ry;
    const auto& lose = rx->has_commit() ? *ry : *rx;
    EXPECT_EQ(win.commit().epoch(), epoch + 1);
    EXPECT_EQ(lose.error().code(), v1::STALE_EPOCH);
    EXPECT_EQ(lose.error().current_epoch(), epoch + 1);
    // The loser drops its commit and, like everyone, processes the winner's.
    const BuiltCommit& won = &winner == &x ? cx : cy;
    loser.mls->discard(conv);
    accepted(winner, conv, won);
    const std::string payload = won.mls.message;
    // Every other member (the loser too) gets the winning commit, once.
    for (auto& d : m) {
      if (&d == &winner) continue;
      auto got = d.ws->next_delivery();
      ASSERT_TRUE(got) << "member " << d.handle << " missed the commit";
      EXPECT_EQ(got->kind(), v1::COMMIT);
      EXPECT_EQ(got->epoch(), epoch);
      EXPECT_EQ(got->seq(), win.commit().seq());
      EXPECT_EQ(got->payload(), payload);
      EXPECT_EQ(got->sender_device(), winner.device_id);
    }
    ++epoch;
  }
  for (auto& d : m) d.ws->drain(50ms);
  for (auto& d : m) EXPECT_EQ(d.ws->pending_deliveries(), 0u) << d.handle << " got a duplicate";
  auto info = m[0].ws->call(get_frame(conv));
  ASSERT_TRUE(info && info->has_conversation());
  EXPECT_EQ(info->conversation().epoch(), epoch);
  // The relay's epoch is every member's MLS epoch, and they all agree on its secrets.
  for (auto& d : m) {
    EXPECT_EQ(d.mls->epoch(conv), epoch) << d.handle;
    EXPECT_EQ(d.mls->epoch_authenticator(conv), m[0].mls->epoch_authenticator(conv)) << d.handle;
  }
}

TEST_F(RelayConversationTest, ApplicationMessagesFanOutToEveryOtherMemberInOrder) {
  std::vector<TestDevice> m;
  ASSERT_NO_FATAL_FAILURE(register_many("member", 5, &m));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group(ptrs(m), &conv));

  // One sender, pipelined: consecutive sequence numbers, in order, everywhere.
  constexpr int kCount = 40;
  std::vector<uint64_t> ids;
  for (int i = 0; i < kCount; ++i)
    ids.push_back(m[0].ws->send(send_frame(conv, 1, message(m[0], conv, "m" + std::to_string(i)))));
  std::vector<uint64_t> seqs;
  for (uint64_t id : ids) {
    auto r = m[0].ws->wait_response(id);
    ASSERT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
    seqs.push_back(r->send().seq());
  }
  for (int i = 1; i < kCount; ++i) EXPECT_EQ(seqs[i], seqs[0] + i);
  for (size_t k = 1; k < m.size(); ++k) {
    auto got = m[k].ws->deliveries(kCount);
    ASSERT_EQ(got.size(), size_t{kCount}) << m[k].handle;
    for (int i = 0; i < kCount; ++i) {
      EXPECT_EQ(got[i].seq(), seqs[i]);
      EXPECT_EQ(text_of(m[k], conv, got[i].payload()), "m" + std::to_string(i));
      EXPECT_EQ(got[i].kind(), v1::APPLICATION);
      EXPECT_EQ(got[i].sender_device(), m[0].device_id);
      EXPECT_EQ(got[i].epoch(), 1u);
    }
  }
  EXPECT_FALSE(m[0].ws->next_delivery(100ms)) << "the sender got its own message back";

  // Three senders interleaved: each member gets every entry but its own, ascending, once.
  std::map<uint64_t, size_t> sender_of;  // seq -> member index
  std::vector<std::vector<uint64_t>> pending(3);
  for (int i = 0; i < 15; ++i) {
    for (size_t s = 0; s < 3; ++s) {
      pending[s].push_back(
          m[s].ws->send(send_frame(conv, 1, message(m[s], conv, "s" + std::to_string(s)))));
    }
  }
  for (size_t s = 0; s < 3; ++s) {
    for (uint64_t id : pending[s]) {
      auto r = m[s].ws->wait_response(id);
      ASSERT_TRUE(r && r->has_send());
      sender_of[r->send().seq()] = s;
    }
  }
  ASSERT_EQ(sender_of.size(), 45u);
  EXPECT_EQ(sender_of.rbegin()->first - sender_of.begin()->first, 44u);  // Dense.
  for (size_t k = 0; k < m.size(); ++k) {
    std::vector<uint64_t> expected;
    for (auto [seq, s] : sender_of) {
      if (s != k) expected.push_back(seq);
    }
    auto got = m[k].ws->deliveries(expected.size());
    std::vector<uint64_t> got_seqs;
    for (const auto& g : got) {
      got_seqs.push_back(g.seq());
      EXPECT_EQ(text_of(m[k], conv, g.payload()), "s" + std::to_string(sender_of[g.seq()]));
    }
    EXPECT_EQ(got_seqs, expected) << m[k].handle;
  }
}

TEST_F(RelayConversationTest, TheWelcomeReachesAnAddedDeviceOnlyThroughItsAcceptedCommit) {
  TestDevice a, b, carol, dave;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  ASSERT_NO_FATAL_FAILURE(register_device("dave", &dave));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  ASSERT_NO_FATAL_FAILURE(say(a, conv, 1, "before carol"));
  ASSERT_TRUE(b.ws->next_delivery());

  // Rejected commits deliver no Welcome: stale epoch, missing welcome, unknown device. Each carries
  // a real Welcome for carol (but the missing one).
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
  EXPECT_FALSE(carol.ws->next_delivery(300ms)) << "a Welcome escaped a rejected commit";
  EXPECT_FALSE(b.ws->next_delivery(50ms));

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
  auto next = carol.ws->next_delivery();
  ASSERT_TRUE(next);
  EXPECT_EQ(text_of(carol, conv, next->payload()), "after carol");
  // Nothing from before its Welcome is readable by the new member.
  auto log = carol.ws->call(fetch_frame(conv));
  ASSERT_TRUE(log && log->has_log());
  ASSERT_EQ(log->log().entries_size(), 2);
  EXPECT_EQ(log->log().entries(0).kind(), v1::WELCOME);
  EXPECT_EQ(log->log().entries(1).payload(), after_carol);

  ASSERT_NO_FATAL_FAILURE(reconnect(&dave));
  auto got = dave.ws->deliveries(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind(), v1::WELCOME);
  EXPECT_EQ(got[0].payload(), adding.mls.welcome);
  // Both added devices are in the group a and b moved to.
  ASSERT_NO_FATAL_FAILURE(join(dave, conv, got[0].payload()));
  EXPECT_EQ(text_of(dave, conv, got[1].payload()), "after carol");
  for (TestDevice* d : {&b, &carol, &dave}) {
    EXPECT_EQ(d->mls->epoch_authenticator(conv), a.mls->epoch_authenticator(conv)) << d->handle;
  }
}

TEST_F(RelayConversationTest, OnlyMembersMayWriteOrRead) {
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
  v1::ClientFrame list;
  list.mutable_list_conversations();
  auto mine = o.call(list);
  ASSERT_TRUE(mine && mine->has_conversations());
  EXPECT_EQ(mine->conversations().conversations_size(), 0);
  EXPECT_FALSE(o.next_delivery(200ms));

  // The members saw none of it; the conversation is unchanged.
  auto got = b.ws->deliveries(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), secret);
  b.ws->drain(100ms);
  EXPECT_EQ(b.ws->pending_deliveries(), 0u);
  auto info = a.ws->call(get_frame(conv));
  ASSERT_TRUE(info && info->has_conversation());
  EXPECT_EQ(info->conversation().epoch(), 1u);
  EXPECT_EQ(info->conversation().head_seq(), 2u);
}

TEST_F(RelayConversationTest, MessagesAreAcceptedOnlyAtTheCurrentEpoch) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  for (uint64_t wrong : {0u, 2u, 99u}) {
    auto r = a.ws->call(send_frame(conv, wrong, message(a, conv, "x")));
    EXPECT_EQ(error_of(r), v1::STALE_EPOCH) << "epoch " << wrong;
    EXPECT_EQ(r->error().current_epoch(), 1u);
  }
  const std::string late_message = message(a, conv, "late");  // Of epoch 1.
  std::optional<v1::Response> commit;
  ASSERT_NO_FATAL_FAILURE(try_commit(b, conv, 1, {}, {}, &commit));
  ASSERT_TRUE(commit->has_commit()) << commit->error().message();
  ASSERT_TRUE(a.ws->next_delivery());
  auto old = a.ws->call(send_frame(conv, 1, late_message));
  EXPECT_EQ(error_of(old), v1::STALE_EPOCH);
  EXPECT_EQ(old->error().current_epoch(), 2u);
  EXPECT_FALSE(b.ws->next_delivery(200ms)) << "a stale message was delivered";

  // Proposals follow the same rule and keep their kind (alice proposes to leave).
  const std::string leave = a.mls->propose_remove(conv, a.mls->leaf(conv));
  auto proposal = send_frame(conv, 1, leave);
  proposal.mutable_send()->set_kind(v1::PROPOSAL);
  auto late = a.ws->call(proposal);
  EXPECT_EQ(error_of(late), v1::STALE_EPOCH);
  EXPECT_EQ(late->error().current_epoch(), 2u);
  proposal.mutable_send()->set_epoch(2);
  auto p = a.ws->call(proposal);
  ASSERT_TRUE(p && p->has_send()) << (p ? p->error().message() : "timeout");
  auto got = b.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind(), v1::PROPOSAL);
  EXPECT_EQ(got->epoch(), 2u);
  EXPECT_EQ(got->payload(), leave);
  // Kinds a client may not send.
  auto bad = send_frame(conv, 2, message(a, conv, "x"));
  bad.mutable_send()->set_kind(v1::COMMIT);
  EXPECT_EQ(error_of(a.ws->call(bad)), v1::INVALID_ARGUMENT);
}

TEST_F(RelayConversationTest, ARemovedDeviceGetsItsRemovalCommitAndNothingAfter) {
  TestDevice a, b, c, d;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &c));
  ASSERT_NO_FATAL_FAILURE(register_device("dave", &d));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b, &c, &d}, &conv));
  // MLS has no commit removing its own author: one that says it does is refused.
  BuiltCommit self;
  ASSERT_NO_FATAL_FAILURE(build_commit(c, conv, 1, {}, {}, &self));
  self.frame.mutable_commit()->add_remove_devices(c.device_id);
  EXPECT_EQ(error_of(c.ws->call(self.frame)), v1::INVALID_ARGUMENT);
  c.mls->discard(conv);

  // carol is online, dave offline, when both are removed.
  const std::string from_carol = message(c, conv, "still here?");  // While she is a member.
  d.ws.reset();
  uint64_t removal = 0;
  BuiltCommit removing;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {}, {&c, &d}, &removing));
  {
    auto r = a.ws->call(removing.frame);
    ASSERT_TRUE(r && r->has_commit()) << r->error().message();
    removal = r->commit().seq();
  }
  accepted(a, conv, removing);
  EXPECT_FALSE(c.mls->in_group(conv)) << "carol's MLS state does not see her removal";
  auto got = c.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind(), v1::COMMIT);
  EXPECT_EQ(got->seq(), removal);
  EXPECT_EQ(got->payload(), removing.mls.message);
  EXPECT_EQ(std::vector<uint64_t>(got->removed_devices().begin(), got->removed_devices().end()),
            (std::vector<uint64_t>{c.device_id, d.device_id}));
  ASSERT_TRUE(b.ws->next_delivery());
  // Removing carol again: MLS has no leaf of hers left to remove, so only the request names her.
  BuiltCommit again;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 2, {}, {}, &again));
  again.frame.mutable_commit()->add_remove_devices(c.device_id);
  EXPECT_EQ(error_of(a.ws->call(again.frame)), v1::INVALID_ARGUMENT);
  a.mls->discard(conv);

  ASSERT_NO_FATAL_FAILURE(say(a, conv, 2, "after removal"));
  ASSERT_NO_FATAL_FAILURE(say(b, conv, 2, "after removal 2"));
  EXPECT_EQ(b.ws->deliveries(1).size(), 1u);
  EXPECT_FALSE(c.ws->next_delivery(300ms)) << "a removed device got a later message";
  EXPECT_EQ(error_of(c.ws->call(send_frame(conv, 2, from_carol))), v1::FORBIDDEN);
  // eve joins after carol's removal: carol, who has not acknowledged it yet, learns neither who
  // is in the group now nor how far its log went.
  TestDevice e;
  ASSERT_NO_FATAL_FAILURE(register_device("eve", &e));
  BuiltCommit adding;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 2, {&e}, {}, &adding));
  auto added = a.ws->call(adding.frame);
  ASSERT_TRUE(added && added->has_commit()) << added->error().message();
  accepted(a, conv, adding);
  auto seen = c.ws->call(get_frame(conv));
  ASSERT_TRUE(seen && seen->has_conversation());
  EXPECT_EQ(seen->conversation().members_size(), 0);
  EXPECT_EQ(seen->conversation().head_seq(), removal);
  v1::ClientFrame list;
  list.mutable_list_conversations();
  auto listed = c.ws->call(list);
  ASSERT_TRUE(listed && listed->has_conversations());
  ASSERT_EQ(listed->conversations().conversations_size(), 1);
  EXPECT_EQ(listed->conversations().conversations(0).members_size(), 0);
  EXPECT_EQ(listed->conversations().conversations(0).head_seq(), removal);
  // Its history ends at its removal.
  auto log = c.ws->call(fetch_frame(conv));
  ASSERT_TRUE(log && log->has_log());
  ASSERT_GT(log->log().entries_size(), 0);
  EXPECT_EQ(log->log().entries(log->log().entries_size() - 1).seq(), removal);

  // dave, back online, catches up to his removal and no further.
  ASSERT_NO_FATAL_FAILURE(reconnect(&d));
  auto caught = d.ws->deliveries(2);
  ASSERT_EQ(caught.size(), 2u);
  EXPECT_EQ(caught[0].kind(), v1::WELCOME);
  EXPECT_EQ(caught[1].seq(), removal);
  d.ws->drain(300ms);
  EXPECT_EQ(d.ws->pending_deliveries(), 0u);

  // Once it acknowledged its removal the conversation is gone for it.
  auto ack = d.ws->call(ack_frame(conv, removal));
  ASSERT_TRUE(ack && ack->has_ack());
  EXPECT_EQ(ack->ack().cursor(), removal);
  EXPECT_EQ(error_of(d.ws->call(fetch_frame(conv))), v1::FORBIDDEN);
  // The remaining members are unaffected.
  auto info = a.ws->call(get_frame(conv));
  ASSERT_TRUE(info && info->has_conversation());
  EXPECT_EQ(info->conversation().members_size(), 3);
}

TEST_F(RelayConversationTest, FetchLogAnswersStayUnderTheAnnouncedFrameLimit) {
  // Clients may size their receive buffer to the frame limit HelloResult announces; the server's
  // own comment on FetchLog says it keeps answers under it.
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  const auto& limits = a.ws->hello_result().limits();
  // A 100 KiB entry, then entries of the largest payload allowed.
  ASSERT_NO_FATAL_FAILURE(send_ok(a, conv, 1, a.mls->encrypt_sized(conv, 100 * 1024, 'a')));
  for (int i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        send_ok(a, conv, 1, a.mls->encrypt_sized(conv, limits.max_payload_bytes(), 'b' + i)));
  }
  uint64_t after = 0;
  int read = 0;
  while (read < 5) {  // The Welcome and the four messages, in as many answers as it takes.
    auto r = b.ws->call(fetch_frame(conv, after));
    ASSERT_TRUE(r && r->has_log()) << (r ? r->error().message() : "timeout");
    ASSERT_GT(r->log().entries_size(), 0);
    v1::ServerFrame frame;
    *frame.mutable_response() = *r;
    EXPECT_LE(frame.ByteSizeLong(), limits.max_frame_bytes())
        << r->log().entries_size() << " entries after seq " << after;
    read += r->log().entries_size();
    after = r->log().entries(r->log().entries_size() - 1).seq();
  }
}

}  // namespace
}  // namespace cercle::testing

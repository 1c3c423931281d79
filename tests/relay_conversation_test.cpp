// Conversations against the real server: direct conversations, racing commits, fan-out order,
// stale epochs and log pages under the frame limit. Commits, proposals and Welcomes are real MLS
// (the relay reads them); application payloads are opaque bytes. Welcomes, membership checks and
// removal: relay_membership_test.cpp.
#include <gtest/gtest.h>

#include "tests/relay_conversation_fixture.h"

namespace cercle::testing {
namespace {

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
  EXPECT_TRUE(carol.ws->nothing_before_round_trip()) << "carol got something from a refused commit";
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
  EXPECT_TRUE(carol.ws->nothing_before_round_trip());
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
  for (auto& d : m)
    EXPECT_TRUE(d.ws->nothing_before_round_trip()) << d.handle << " got a duplicate";
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
  EXPECT_TRUE(m[0].ws->nothing_before_round_trip()) << "the sender got its own message back";
}

TEST_F(RelayConversationTest, InterleavedSendersMessagesReachEveryOtherMemberOnceInOrder) {
  std::vector<TestDevice> m;
  ASSERT_NO_FATAL_FAILURE(register_many("member", 5, &m));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group(ptrs(m), &conv));

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
  for (auto& d : m) EXPECT_TRUE(d.ws->nothing_before_round_trip()) << d.handle << ": twice";
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
  EXPECT_TRUE(b.ws->nothing_before_round_trip()) << "a stale message was delivered";

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

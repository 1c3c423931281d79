// The relay's MLS checks over the wire: it reads every KeyPackage, commit, proposal and Welcome it
// relays, refuses those that do not match the request or the group, and tracks each device's
// leaf so that its member list stays the MLS group's. Application messages stay opaque.
#include <gtest/gtest.h>

#include <algorithm>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayMlsTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false"})); }

  static v1::ClientFrame proposal_frame(const std::string& conv, uint64_t epoch,
                                        std::string payload) {
    v1::ClientFrame f = send_frame(conv, epoch, std::move(payload));
    f.mutable_send()->set_kind(v1::PROPOSAL);
    return f;
  }

  static v1::ClientFrame upload_frame(const std::string& key_package) {
    v1::ClientFrame f;
    f.mutable_upload_key_packages()->add_key_packages()->set_data(key_package);
    return f;
  }

  static void get_conversation(TestDevice& d, const std::string& conv, v1::ConversationInfo* out) {
    v1::ClientFrame f;
    f.mutable_get_conversation()->set_conversation_id(conv);
    auto r = d.ws->call(f);
    ASSERT_TRUE(r && r->has_conversation()) << (r ? r->error().message() : "timeout");
    *out = r->conversation();
  }

  // `d`'s next delivery, which must come.
  static void next(TestDevice& d, v1::Delivery* out) {
    auto got = d.ws->next_delivery();
    ASSERT_TRUE(got) << d.handle << " got nothing";
    *out = *got;
  }

  // `d`, no longer a member of `conv`, gets nothing of what follows and can no longer send
  // `message` nor propose `proposal` (both made while it was a member); `reader`, a member, reads
  // what `writer` says at `epoch`.
  void expect_no_longer_a_member(TestDevice& d, TestDevice& writer, TestDevice& reader,
                                 const std::string& conv, uint64_t epoch,
                                 const std::string& message, const std::string& proposal) {
    ASSERT_NO_FATAL_FAILURE(send_ok(writer, conv, epoch, writer.mls->encrypt(conv, "after")));
    v1::Delivery got;
    ASSERT_NO_FATAL_FAILURE(next(reader, &got));
    EXPECT_EQ(reader.mls->decrypt(conv, got.payload()), "after");
    EXPECT_TRUE(d.ws->nothing_before_round_trip()) << d.handle << " got a later entry";
    EXPECT_EQ(error_of(d.ws->call(send_frame(conv, epoch, message))), v1::FORBIDDEN);
    EXPECT_EQ(error_of(d.ws->call(proposal_frame(conv, epoch, proposal))), v1::FORBIDDEN);
  }

  // The relay and the members' MLS states agree: the relay's members are `members`, at the epoch
  // every member is at; they share the epoch's secrets; each sees every other at the leaf that
  // member holds itself; `gone` are in nobody's tree.
  void expect_agreement(const std::string& conv, const std::vector<TestDevice*>& members,
                        const std::vector<TestDevice*>& gone = {}) {
    v1::ConversationInfo info;
    ASSERT_NO_FATAL_FAILURE(get_conversation(*members[0], conv, &info));
    std::vector<uint64_t> relay_ids, expected_ids;
    for (const auto& m : info.members()) relay_ids.push_back(m.device_id());
    for (const auto* d : members) expected_ids.push_back(d->device_id);
    std::sort(relay_ids.begin(), relay_ids.end());
    std::sort(expected_ids.begin(), expected_ids.end());
    EXPECT_EQ(relay_ids, expected_ids);
    const std::string authenticator = members[0]->mls->epoch_authenticator(conv);
    for (const auto* d : members) {
      ASSERT_TRUE(d->mls->in_group(conv)) << d->handle;
      EXPECT_EQ(d->mls->epoch(conv), info.epoch()) << d->handle;
      EXPECT_EQ(d->mls->epoch_authenticator(conv), authenticator) << d->handle;
      for (const auto* other : members) {
        EXPECT_EQ(d->mls->leaf_of(conv, other->handle), other->mls->leaf(conv))
            << d->handle << " sees " << other->handle << " elsewhere";
      }
      for (const auto* g : gone) EXPECT_EQ(d->mls->leaf_of(conv, g->handle), -1) << g->handle;
    }
  }
};

TEST_F(RelayMlsTest, ACommitMustDeclareExactlyTheDevicesItAddsAndRemoves) {
  TestDevice a, b, carol, dave;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  ASSERT_NO_FATAL_FAILURE(register_device("dave", &dave));
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(dave));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));

  BuiltCommit adding;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {&carol}, {}, &adding));
  auto declared = [&](std::vector<uint64_t> add, std::vector<uint64_t> remove) {
    return commit_frame(conv, 1, adding.mls.message, std::move(add), std::move(remove),
                        adding.mls.welcome);
  };
  // The commit adds carol: saying nobody, somebody else, or carol and more is refused.
  EXPECT_EQ(error_of(a.ws->call(declared({}, {}))), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(a.ws->call(declared({dave.device_id}, {}))), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(a.ws->call(declared({carol.device_id, dave.device_id}, {}))),
            v1::INVALID_ARGUMENT);
  // It removes nobody.
  EXPECT_EQ(error_of(a.ws->call(declared({carol.device_id}, {b.device_id}))), v1::INVALID_ARGUMENT);
  // The Welcome must be for carol's KeyPackage in this commit, not for another one of hers.
  const std::string carol_kp = carol.mls->key_package();
  ASSERT_TRUE(carol.ws->call(upload_frame(carol_kp))->has_upload_key_packages());
  const std::string other_welcome = a.mls->commit(conv, {carol_kp}).welcome;
  auto wrong_welcome = declared({carol.device_id}, {});
  wrong_welcome.mutable_commit()->set_welcome(other_welcome);
  EXPECT_EQ(error_of(a.ws->call(wrong_welcome)), v1::INVALID_ARGUMENT);
  a.mls->discard(conv);

  // A commit removing bob must say so.
  BuiltCommit removing;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {}, {&b}, &removing));
  auto undeclared = removing.frame;
  undeclared.mutable_commit()->clear_remove_devices();
  EXPECT_EQ(error_of(a.ws->call(undeclared)), v1::INVALID_ARGUMENT);
  a.mls->discard(conv);

  // None of it reached anyone, and the group did not move.
  EXPECT_TRUE(carol.ws->nothing_before_round_trip()) << "a refused commit delivered a Welcome";
  EXPECT_TRUE(b.ws->nothing_before_round_trip()) << "a refused commit was delivered";
  v1::ConversationInfo info;
  ASSERT_NO_FATAL_FAILURE(get_conversation(a, conv, &info));
  EXPECT_EQ(info.epoch(), 1u);
  EXPECT_EQ(info.head_seq(), 1u);

  // Said right, it goes through.
  ASSERT_NO_FATAL_FAILURE(add_members(a, conv, 1, {&carol}));
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &b, &carol}));
}

TEST_F(RelayMlsTest, BytesThatAreNotTheRightMlsMessageForTheGroupAreRefused) {
  TestDevice a, b, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  std::string conv, other_conv;
  ASSERT_NO_FATAL_FAILURE(create_group(a, &conv));
  // A commit of epoch 0, kept aside while another one moves the group to epoch 1.
  const std::string epoch0_commit = a.mls->commit(conv, {}).message;
  ASSERT_NO_FATAL_FAILURE(add_members(a, conv, 0, {&b}));
  ASSERT_NO_FATAL_FAILURE(create_group(a, &other_conv));

  auto commit_of = [&](std::string bytes) { return commit_frame(conv, 1, std::move(bytes)); };
  // Not MLS at all.
  EXPECT_EQ(error_of(a.ws->call(commit_of("commit@1"))), v1::INVALID_ARGUMENT);
  // A real commit with a Welcome that is not one (and nobody added).
  BuiltCommit c;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {}, {}, &c));
  auto fake_welcome = c.frame;
  fake_welcome.mutable_commit()->set_welcome("welcome@1");
  EXPECT_EQ(error_of(a.ws->call(fake_welcome)), v1::INVALID_ARGUMENT);
  // A real commit adding carol with a Welcome that is not one.
  BuiltCommit adding;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {&carol}, {}, &adding));
  adding.frame.mutable_commit()->set_welcome("welcome@1");
  EXPECT_EQ(error_of(a.ws->call(adding.frame)), v1::INVALID_ARGUMENT);
  a.mls->discard(conv);
  // MLS messages of the wrong kind, group or epoch.
  EXPECT_EQ(error_of(a.ws->call(commit_of(epoch0_commit))), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(a.ws->call(commit_of(a.mls->commit(other_conv, {}).message))),
            v1::INVALID_ARGUMENT);
  a.mls->discard(other_conv);
  EXPECT_EQ(error_of(a.ws->call(commit_of(a.mls->encrypt(conv, "hello")))), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(a.ws->call(commit_of(a.mls->key_package()))), v1::INVALID_ARGUMENT);
  // A proposal is not a commit, and a commit is not a proposal. (bob makes the proposal: alice's
  // commits would carry it by reference.)
  const std::string proposal = b.mls->propose_remove(conv, a.mls->leaf(conv));
  EXPECT_EQ(error_of(b.ws->call(commit_of(proposal))), v1::INVALID_ARGUMENT);
  BuiltCommit again;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {}, {}, &again));
  EXPECT_EQ(error_of(a.ws->call(proposal_frame(conv, 1, again.mls.message))), v1::INVALID_ARGUMENT);
  a.mls->discard(conv);
  EXPECT_EQ(error_of(a.ws->call(proposal_frame(conv, 1, "proposal"))), v1::INVALID_ARGUMENT);

  // Nothing was delivered and the group did not move; then a real commit is accepted.
  EXPECT_TRUE(b.ws->nothing_before_round_trip()) << "a refused message was delivered";
  v1::ConversationInfo info;
  ASSERT_NO_FATAL_FAILURE(get_conversation(a, conv, &info));
  EXPECT_EQ(info.epoch(), 1u);
  EXPECT_EQ(info.head_seq(), 1u);
  std::optional<v1::Response> r;
  ASSERT_NO_FATAL_FAILURE(try_commit(a, conv, 1, {}, {}, &r));
  EXPECT_TRUE(r->has_commit()) << r->error().message();
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &b}));
}

TEST_F(RelayMlsTest, AMemberCannotSubmitHandshakeMessagesFromAnotherMembersLeaf) {
  TestDevice a, b, c;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &c));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b, &c}, &conv));

  // bob's commit, submitted by alice.
  BuiltCommit bobs;
  ASSERT_NO_FATAL_FAILURE(build_commit(b, conv, 1, {}, {}, &bobs));
  EXPECT_EQ(error_of(a.ws->call(bobs.frame)), v1::FORBIDDEN);
  EXPECT_TRUE(c.ws->nothing_before_round_trip()) << "the refused commit was delivered";
  // The same bytes from bob himself are fine.
  auto r = b.ws->call(bobs.frame);
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  accepted(b, conv, bobs);
  for (TestDevice* d : {&a, &c}) {
    auto got = d->ws->next_delivery();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->seq(), r->commit().seq());
    EXPECT_EQ(got->sender_device(), b.device_id);
  }
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &b, &c}));

  // bob's proposal, sent by carol.
  const std::string proposal = b.mls->propose_remove(conv, c.mls->leaf(conv));
  EXPECT_EQ(error_of(c.ws->call(proposal_frame(conv, 2, proposal))), v1::FORBIDDEN);
  EXPECT_TRUE(a.ws->nothing_before_round_trip()) << "the refused proposal was delivered";
}

TEST_F(RelayMlsTest, KeyPackagesMustNameTheAccountAsStoredAndBelongToOneDevice) {
  TestDevice zoe, bob, bob2;
  // Typed with a combining accent; the relay stores the handle in NFC ("Zoé").
  const std::string typed = "Zoe\xCC\x81";
  ASSERT_NO_FATAL_FAILURE(register_device(typed, &zoe));
  EXPECT_EQ(zoe.handle, "Zo\xC3\xA9");
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(add_device(bob, &bob2));

  auto upload_as = [&](TestDevice& d, const std::string& handle, const DeviceKey& key) {
    MlsMember m(handle, key.sk);
    return error_of(d.ws->call(upload_frame(m.key_package())));
  };
  // The credential is the handle as stored, byte for byte: not as typed, not in another case,
  // not another account's.
  EXPECT_EQ(upload_as(zoe, typed, zoe.key), v1::INVALID_ARGUMENT);
  EXPECT_EQ(upload_as(zoe, "zo\xC3\xA9", zoe.key), v1::INVALID_ARGUMENT);
  EXPECT_EQ(upload_as(zoe, "bob", zoe.key), v1::INVALID_ARGUMENT);
  EXPECT_EQ(upload_as(zoe, zoe.handle, zoe.key), v1::ERROR_CODE_UNSPECIFIED);
  // Not a KeyPackage at all.
  EXPECT_EQ(error_of(zoe.ws->call(upload_frame("kp-1"))), v1::INVALID_ARGUMENT);

  // Once bob's device uploaded a package signed with its key, no other device may use that key,
  // not even another device of bob's: its packages are signed with the MLS key its chain link
  // names.
  EXPECT_EQ(upload_as(bob, "bob", bob.key), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(upload_as(bob2, "bob", bob.key), v1::FORBIDDEN);
  EXPECT_EQ(upload_as(bob2, "bob", bob2.key), v1::ERROR_CODE_UNSPECIFIED);
  // Also after a restart, when the chain is read back from storage.
  zoe.ws.reset();
  bob.ws.reset();
  bob2.ws.reset();
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&bob2));
  EXPECT_EQ(upload_as(bob2, "bob", bob.key), v1::FORBIDDEN);

  // Only the valid uploads were stored.
  v1::ClientFrame count;
  count.mutable_count_key_packages();
  auto stored = bob2.ws->call(count);
  ASSERT_TRUE(stored && stored->has_count_key_packages());
  EXPECT_EQ(stored->count_key_packages().stored(), 1u);
}

TEST_F(RelayMlsTest, AMemberLeavesThroughAProposalThatAnotherMemberCommits) {
  TestDevice a, b, c;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &c));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b, &c}, &conv));

  // bob proposes his own removal. A commit referring to it before the relay has it is refused.
  const std::string leave = b.mls->propose_remove(conv, b.mls->leaf(conv));
  ASSERT_TRUE(a.mls->process(conv, leave));
  const MlsMember::Commit early = a.mls->commit(conv, {});
  EXPECT_EQ(error_of(a.ws->call(commit_frame(conv, 1, early.message, {}, {b.device_id}))),
            v1::INVALID_ARGUMENT);
  a.mls->discard(conv);
  auto proposed = b.ws->call(proposal_frame(conv, 1, leave));
  ASSERT_TRUE(proposed && proposed->has_send())
      << (proposed ? proposed->error().message() : "timeout");
  v1::Delivery got;
  ASSERT_NO_FATAL_FAILURE(next(c, &got));
  EXPECT_EQ(got.kind(), v1::PROPOSAL);
  EXPECT_EQ(got.sender_device(), b.device_id);
  ASSERT_TRUE(c.mls->process(conv, got.payload()));
  ASSERT_NO_FATAL_FAILURE(next(a, &got));
  EXPECT_EQ(got.seq(), proposed->send().seq());

  // alice commits it by reference: the request must name bob as removed.
  const std::string from_bob = message(b, conv, "still here?");  // While he is a member.
  const MlsMember::Commit commit = a.mls->commit(conv, {});
  EXPECT_EQ(error_of(a.ws->call(commit_frame(conv, 1, commit.message))), v1::INVALID_ARGUMENT);
  auto r = a.ws->call(commit_frame(conv, 1, commit.message, {}, {b.device_id}));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  a.mls->adopt(conv);

  // bob gets the commit that removes him, and leaves the group when he processes it.
  ASSERT_NO_FATAL_FAILURE(next(b, &got));
  EXPECT_EQ(got.kind(), v1::COMMIT);
  EXPECT_EQ(got.seq(), r->commit().seq());
  EXPECT_EQ(std::vector<uint64_t>(got.removed_devices().begin(), got.removed_devices().end()),
            std::vector<uint64_t>{b.device_id});
  ASSERT_TRUE(b.mls->process(conv, got.payload()));
  EXPECT_FALSE(b.mls->in_group(conv));
  ASSERT_NO_FATAL_FAILURE(next(c, &got));
  ASSERT_TRUE(c.mls->process(conv, got.payload()));
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &c}, {&b}));
  ASSERT_NO_FATAL_FAILURE(expect_no_longer_a_member(b, a, c, conv, 2, from_bob, leave));
}

TEST_F(RelayMlsTest, TheLeaversLeafGoesToTheDeviceAddedInTheCommitThatRemovesIt) {
  TestDevice a, b, c, d;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &c));
  ASSERT_NO_FATAL_FAILURE(register_device("dave", &d));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b, &c}, &conv));
  const std::string leave = b.mls->propose_remove(conv, b.mls->leaf(conv));
  auto sent = b.ws->call(proposal_frame(conv, 1, leave));
  ASSERT_TRUE(sent && sent->has_send()) << (sent ? sent->error().message() : "timeout");
  for (TestDevice* m : {&a, &c}) {
    auto got = m->ws->next_delivery();
    ASSERT_TRUE(got && got->kind() == v1::PROPOSAL);
    ASSERT_TRUE(m->mls->process(conv, got->payload()));
  }
  // alice's commit removes bob by reference and adds dave by value: dave takes leaf 1.
  BuiltCommit c1;
  ASSERT_NO_FATAL_FAILURE(build_commit(a, conv, 1, {&d}, {}, &c1));
  c1.frame.mutable_commit()->add_remove_devices(b.device_id);
  auto r = a.ws->call(c1.frame);
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  accepted(a, conv, c1);
  ASSERT_NO_FATAL_FAILURE(join(d, conv, c1.mls.welcome));
  EXPECT_FALSE(b.mls->in_group(conv));
  EXPECT_EQ(d.mls->leaf(conv), 1u);
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &c, &d}, {&b}));
  // The relay has dave at leaf 1 too: his commit from there is accepted.
  std::optional<v1::Response> next;
  ASSERT_NO_FATAL_FAILURE(try_commit(d, conv, 2, {}, {&c}, &next));
  ASSERT_TRUE(next->has_commit()) << next->error().message();
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &d}, {&b, &c}));
}

TEST_F(RelayMlsTest, RelayAndMembersAgreeOnLeavesAfterRemovesAndAdds) {
  std::vector<TestDevice> m(7);
  for (size_t i = 0; i < m.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(
        register_device(std::string(1, static_cast<char>('a' + i)) + "-member", &m[i]));
  }
  TestDevice &a = m[0], &b = m[1], &c = m[2], &d = m[3], &e = m[4], &f = m[5], &g = m[6];
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b, &c}, &conv));  // Leaves 0, 1, 2.
  EXPECT_EQ(c.mls->leaf(conv), 2u);
  std::optional<v1::Response> r;
  auto commit_ok = [&](TestDevice& by, uint64_t epoch, std::vector<TestDevice*> add,
                       std::vector<TestDevice*> remove) {
    ASSERT_NO_FATAL_FAILURE(try_commit(by, conv, epoch, add, remove, &r));
    ASSERT_TRUE(r->has_commit()) << by.handle << " at epoch " << epoch << ": "
                                 << r->error().message();
  };
  ASSERT_NO_FATAL_FAILURE(commit_ok(a, 1, {}, {&b}));  // Frees leaf 1.
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &c}, {&b}));
  ASSERT_NO_FATAL_FAILURE(commit_ok(c, 2, {&d}, {}));  // d takes the leftmost free leaf.
  EXPECT_EQ(d.mls->leaf(conv), 1u);
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &c, &d}, {&b}));
  // The relay accepts d's commit only if it has d at leaf 1, and e's removal of leaf 2 only if it
  // has c there and e at leaf 3.
  ASSERT_NO_FATAL_FAILURE(commit_ok(d, 3, {&e}, {}));
  EXPECT_EQ(e.mls->leaf(conv), 3u);
  ASSERT_NO_FATAL_FAILURE(commit_ok(e, 4, {}, {&c}));
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &d, &e}, {&b, &c}));
  // Two adds and a remove at once: the removed leaf and the free one are reused, leftmost first.
  ASSERT_NO_FATAL_FAILURE(commit_ok(a, 5, {&f, &g}, {&d}));
  EXPECT_EQ(f.mls->leaf(conv), 1u);
  EXPECT_EQ(g.mls->leaf(conv), 2u);
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &e, &f, &g}, {&b, &c, &d}));
  // Each new member can commit from where the relay has it.
  ASSERT_NO_FATAL_FAILURE(commit_ok(g, 6, {}, {}));
  ASSERT_NO_FATAL_FAILURE(commit_ok(f, 7, {}, {&e}));
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &f, &g}, {&b, &c, &d, &e}));

  // b, removed at the start, has its removal waiting (it never acknowledged it) and is added
  // again: it gets a Welcome and takes the leftmost free leaf.
  auto removal = b.ws->next_delivery();
  ASSERT_TRUE(removal);
  EXPECT_EQ(removal->kind(), v1::COMMIT);
  EXPECT_EQ(removal->epoch(), 1u);
  EXPECT_TRUE(b.ws->nothing_before_round_trip()) << "a removed device got later entries";
  ASSERT_NO_FATAL_FAILURE(add_members(a, conv, 8, {&b}));
  EXPECT_EQ(b.mls->leaf(conv), 3u);
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&a, &b, &f, &g}, {&c, &d, &e}));
  ASSERT_NO_FATAL_FAILURE(commit_ok(b, 9, {}, {&a}));
  ASSERT_NO_FATAL_FAILURE(expect_agreement(conv, {&b, &f, &g}, {&a, &c, &d, &e}));
}

// A device removed while offline and added again still receives what it had not received of its
// earlier membership (up to its removal), then its Welcome: every entry after its cursor that it
// may read, with no gap.
TEST_F(RelayMlsTest, ADeviceReAddedWhileOfflineStillGetsWhatItMissedBeforeItsRemoval) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  uint64_t welcome = 0;
  ASSERT_NO_FATAL_FAILURE(create_group(a, &conv));
  ASSERT_NO_FATAL_FAILURE(add_members(a, conv, 0, {&b}, &welcome));
  auto ack = b.ws->call(ack_frame(conv, welcome));
  ASSERT_TRUE(ack && ack->has_ack());
  ASSERT_NO_FATAL_FAILURE(upload_key_packages(b));  // For the re-add, while he is away.
  b.ws.reset();

  uint64_t message = 0;
  ASSERT_NO_FATAL_FAILURE(say(a, conv, 1, "while bob is a member", &message));
  std::optional<v1::Response> r;
  ASSERT_NO_FATAL_FAILURE(try_commit(a, conv, 1, {}, {&b}, &r));
  ASSERT_TRUE(r->has_commit()) << r->error().message();
  const uint64_t removal = r->commit().seq();
  ASSERT_NO_FATAL_FAILURE(try_commit(a, conv, 2, {&b}, {}, &r));
  ASSERT_TRUE(r->has_commit()) << r->error().message();
  const uint64_t re_added = r->commit().seq();

  ASSERT_NO_FATAL_FAILURE(reconnect(&b));
  auto got = b.ws->deliveries(3, 2s);
  std::vector<uint64_t> seqs;
  for (const auto& d : got) seqs.push_back(d.seq());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{message, removal, re_added}));
}

}  // namespace
}  // namespace cercle::testing

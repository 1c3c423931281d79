// Conversations on the domain alone: commits, members, reading, restarts; and the public listing of
// groups open to peers (what a facilitator publishes, what a closing commit drops).
#include "server/domain/groups_fixture.h"

namespace cercle::domain {
namespace {

TEST_F(DomainTest, FirstCommitOfAnEpochWinsAndFanOutReachesMembers) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ASSERT_TRUE(register_device(c, "carol").ok());
  ConvView conv = create_group(a);
  auto added = commit(a, conv.id, 0, {&b});
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(added->epoch, 1u);
  ASSERT_FALSE(outbox_.published.empty());
  EXPECT_EQ(outbox_.published.back().recipients, std::vector<DeviceId>{b.info.device_id});

  // Both build a commit on epoch 1 before either is accepted: the first submitted wins, the
  // second learns the current epoch, and its author processes the winner instead.
  Device d;
  ASSERT_TRUE(register_device(d, "dave").ok());
  const std::string g = conv.id.str();
  auto from_b = b.mls->commit(g, {upload_key_package(c)});
  auto from_a = a.mls->commit(g, {upload_key_package(d)});
  auto first = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(
        b.info.device_id,
        CommitArgs{conv.id, 1, from_b.message, {c.info.device_id}, {}, from_b.welcome}, cb);
  });
  auto second = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(
        a.info.device_id,
        CommitArgs{conv.id, 1, from_a.message, {d.info.device_id}, {}, from_a.welcome}, cb);
  });
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::kStaleEpoch);
  EXPECT_EQ(second.error().current_epoch, 2u);
  b.mls->adopt(g);
  a.mls->discard(g);
  ASSERT_TRUE(a.mls->process(g, from_b.message));
  ASSERT_TRUE(c.mls->join(g, from_b.welcome));
  EXPECT_EQ(a.mls->epoch_authenticator(g), c.mls->epoch_authenticator(g));

  auto stale_send = send(c, conv.id, 1, message(c, conv.id, "old"));
  EXPECT_EQ(stale_send.error().code, Errc::kStaleEpoch);
  auto sent = send(c, conv.id, 2, message(c, conv.id, "hello"));
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->seq, 3u);
  auto recipients = outbox_.published.back().recipients;
  std::sort(recipients.begin(), recipients.end());
  std::vector<DeviceId> expected{a.info.device_id, b.info.device_id};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(recipients, expected);
}

TEST_F(DomainTest, NonMembersCanNeitherWriteNorRead) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  // b makes a group of its own with the same id: its messages and commits are well formed.
  b.mls->create(conv.id.str());
  EXPECT_EQ(send(b, conv.id, 0, message(b, conv.id, "x")).error().code, Errc::kForbidden);
  // A commit from outside.
  auto outside = b.mls->commit(conv.id.str(), {}, {});
  auto refused = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(b.info.device_id, commit_args(conv.id, 0, outside), cb);
  });
  EXPECT_EQ(refused.error().code, Errc::kForbidden);
  EXPECT_EQ(domain_->conversations().read(b.info.device_id, conv.id, 0, 10, 1000).error().code,
            Errc::kForbidden);
  EXPECT_EQ(domain_->conversations().ack(b.info.device_id, conv.id, 1).error().code,
            Errc::kForbidden);
  ConvId unknown;
  unknown.bytes.fill(7);
  EXPECT_EQ(send(a, unknown, 0, message(a, conv.id, "x")).error().code, Errc::kNotFound);
}

TEST_F(DomainTest, RemovedDeviceReadsUpToItsRemovalThenIsForgotten) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  ASSERT_TRUE(commit(a, conv.id, 0, {&b}).ok());                    // seq 1
  ASSERT_TRUE(send(a, conv.id, 1, message(a, conv.id, "m")).ok());  // seq 2
  const std::string from_b = message(b, conv.id, "x");              // Made while it was a member.
  auto removed = commit(a, conv.id, 1, {}, {&b});                   // seq 3
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(outbox_.published.back().recipients, std::vector<DeviceId>{b.info.device_id});
  ASSERT_TRUE(send(a, conv.id, 2, message(a, conv.id, "after")).ok());  // seq 4
  EXPECT_TRUE(outbox_.published.back().recipients.empty());
  EXPECT_EQ(send(b, conv.id, 2, from_b).error().code, Errc::kForbidden);

  auto read = domain_->conversations().read(b.info.device_id, conv.id, 0, 100, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 3u);  // Its welcome (1), the message (2) and its removal (3), not 4.
  EXPECT_EQ(read->back().seq, 3u);

  auto cursor = domain_->conversations().ack(b.info.device_id, conv.id, 99);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 3u);
  EXPECT_TRUE(domain_->conversations().streams(b.info.device_id).empty());
  restart();
  EXPECT_TRUE(domain_->conversations().streams(b.info.device_id).empty());
}

TEST_F(DomainTest, CursorsAndEpochSurviveRestart) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  ASSERT_TRUE(commit(a, conv.id, 0, {&b}).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(send(a, conv.id, 1, message(a, conv.id, "m")).ok());
  ASSERT_EQ(*domain_->conversations().ack(b.info.device_id, conv.id, 4), 4u);
  restart();
  auto streams = domain_->conversations().streams(b.info.device_id);
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].cursor, 4u);
  auto got = domain_->conversations().get(a.info.device_id, conv.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->epoch, 1u);
  EXPECT_EQ(got->head_seq, 6u);
  EXPECT_EQ(got->members.size(), 2u);
  auto next = send(a, conv.id, 1, message(a, conv.id, "after restart"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 7u);
}

TEST_F(DomainTest, DirectConversationAdmitsOnlyItsTwoAccounts) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ASSERT_TRUE(register_device(c, "carol").ok());
  auto conv = await<ConvView>([&](auto cb) {
    domain_->conversations().create(a.info.device_id, ConvKind::kDirect, "bob", cb);
  });
  ASSERT_TRUE(conv.ok());
  a.mls->create(conv->id.str());
  EXPECT_EQ(commit(a, conv->id, 0, {&c}).error().code, Errc::kForbidden);
  EXPECT_TRUE(commit(a, conv->id, 0, {&b}).ok());
  auto self = await<ConvView>([&](auto cb) {
    domain_->conversations().create(a.info.device_id, ConvKind::kDirect, "alice", cb);
  });
  EXPECT_EQ(self.error().code, Errc::kInvalidArgument);
}

TEST_F(DomainTest, RelayAndMlsAgreeOnLeavesAfterRemovesAndAdds) {
  Device a, b, c, d;
  for (auto [dev, name] : {std::pair{&a, "alice"}, {&b, "bob"}, {&c, "carol"}, {&d, "dave"}}) {
    ASSERT_TRUE(register_device(*dev, name).ok());
  }
  ConvView conv = create_group(a);
  const std::string g = conv.id.str();
  ASSERT_TRUE(commit(a, conv.id, 0, {&b, &c}).ok());
  ASSERT_TRUE(commit(a, conv.id, 1, {}, {&b}).ok());  // Frees leaf 1.
  ASSERT_TRUE(commit(c, conv.id, 2, {&d}).ok());      // d takes the leftmost free leaf.
  for (Device* dev : {&a, &c, &d}) {
    EXPECT_EQ(leaf_of(conv.id, *dev), dev->mls->leaf(g)) << dev->info.handle;
  }
  EXPECT_EQ(leaf_of(conv.id, d), 1u);
  EXPECT_EQ(a.mls->epoch_authenticator(g), d.mls->epoch_authenticator(g));
}

TEST_F(DomainTest, ACommitMustSayWhatItDoes) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ASSERT_TRUE(register_device(c, "carol").ok());
  ConvView conv = create_group(a);
  const std::string g = conv.id.str();
  auto submit = [&](Device& actor, CommitArgs args) {
    return await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(actor.info.device_id, std::move(args), cb);
    });
  };
  const std::string kp_b = upload_key_package(b);
  auto built = a.mls->commit(g, {kp_b});
  // add_devices must name the device the MLS commit adds.
  auto undeclared = submit(a, commit_args(conv.id, 0, built));
  EXPECT_EQ(undeclared.error().code, Errc::kInvalidArgument);
  auto misnamed = submit(a, commit_args(conv.id, 0, built, {c.info.device_id}));
  EXPECT_EQ(misnamed.error().code, Errc::kInvalidArgument);
  // The Welcome must be for the added key package.
  auto other = a.mls->commit(g, {upload_key_package(b)});
  CommitArgs other_welcome = commit_args(conv.id, 0, built, {b.info.device_id});
  other_welcome.welcome = other.welcome;
  auto wrong_welcome = submit(a, std::move(other_welcome));
  EXPECT_EQ(wrong_welcome.error().code, Errc::kInvalidArgument);
  // Not an MLS commit at all.
  auto garbage = submit(a, CommitArgs{conv.id, 0, "commit@0", {}, {}, ""});
  EXPECT_EQ(garbage.error().code, Errc::kInvalidArgument);
  a.mls->discard(g);
  ASSERT_TRUE(commit(a, conv.id, 0, {&b}).ok());

  // A member cannot submit a commit signed from another member's leaf.
  auto bobs = b.mls->commit(g, {}, {});
  auto impersonated = submit(a, CommitArgs{conv.id, 1, bobs.message, {}, {}, ""});
  EXPECT_EQ(impersonated.error().code, Errc::kForbidden);
  b.mls->discard(g);
}

// Without the group's start the relay could not check any later signature: a first commit must
// state it. The refused commit changes nothing, and the same commit with its genesis starts the
// group.
TEST_F(DomainTest, AGroupsFirstCommitMustStateTheGroupsStart) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  auto built = a.mls->commit(conv.id.str(), {upload_key_package(b)}, {},
                             testing::facilitating_policy(std::nullopt, a.info.handle, {}));
  ASSERT_TRUE(built.genesis.has_value());
  CommitArgs without = commit_args(conv.id, 0, built, {b.info.device_id});
  without.genesis.reset();
  auto refused = await<CommitOk>(
      [&](auto cb) { domain_->conversations().commit(a.info.device_id, std::move(without), cb); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(refused.error().message,
            "a group's first commit must state the group's start (genesis)");
  EXPECT_EQ(conversation(conv.id).epoch, 0u);
  EXPECT_EQ(conversation(conv.id).public_group, nullptr);
  auto accepted = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(a.info.device_id,
                                    commit_args(conv.id, 0, built, {b.info.device_id}), cb);
  });
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted->epoch, 1u);
  EXPECT_NE(conversation(conv.id).public_group, nullptr);
}

TEST_F(DomainTest, AMemberLeavesByAProposalAnotherCommits) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  const std::string g = conv.id.str();
  ASSERT_TRUE(commit(a, conv.id, 0, {&b}).ok());
  const std::string leave = b.mls->propose_remove(g, b.mls->leaf(g));
  ASSERT_TRUE(send(b, conv.id, 1, leave, EntryKind::kProposal).ok());
  ASSERT_TRUE(a.mls->process(g, leave));
  const std::string from_b = message(b, conv.id, "x");  // Made while it was a member.
  auto built = a.mls->commit(g, {}, {});  // Includes the pending proposal by reference.
  auto r = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(
        a.info.device_id, CommitArgs{conv.id, 1, built.message, {}, {b.info.device_id}, ""}, cb);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(send(b, conv.id, 2, from_b).error().code, Errc::kForbidden);
}

TEST_F(DomainTest, ACommitOnlyAddsKeyPackagesTheRelayAcceptedOnce) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  auto submit = [&](const ConvView& conv, const std::string& kp) {
    const std::string group = conv.id.str();
    auto built = a.mls->commit(
        group, {kp}, {},
        testing::facilitating_policy(a.mls->policy(group), a.info.handle, {b.info.handle}));
    auto r = await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(a.info.device_id,
                                      commit_args(conv.id, 0, built, {b.info.device_id}), cb);
    });
    if (r) {
      a.mls->adopt(conv.id.str());
    } else {
      a.mls->discard(conv.id.str());
    }
    return r;
  };
  // A package bob's key signed but never uploaded is not one the relay can vouch for.
  ConvView first = create_group(a);
  auto unknown = submit(first, b.mls->key_package());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kNotFound);

  const std::string kp = upload_key_package(b);
  ASSERT_TRUE(submit(first, kp).ok());
  restart();  // Its use is durable.
  ConvView second = create_group(a);
  auto reused = submit(second, kp);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, Errc::kInvalidArgument);
  EXPECT_NE(reused.error().message.find("already used"), std::string::npos);

  // A last-resort package may join several groups.
  const std::string last = b.mls->key_package();
  ASSERT_TRUE(upload(b, {{last, true}}).ok());
  ConvView third = create_group(a);
  ASSERT_TRUE(submit(third, last).ok());
  ConvView fourth = create_group(a);
  EXPECT_TRUE(submit(fourth, last).ok());
}

// The public listing: GroupsTest's real roles (alice alone facilitates).
class ListingTest : public GroupsTest {
 protected:
  // Alice's commit opening `conv` to peers, or closing it again.
  void set_open(Device& alice, const ConvView& conv, bool open) {
    v1::GroupPolicy rules;
    ASSERT_TRUE(rules.ParseFromString(*alice.mls->policy(conv.id.str())));
    rules.set_join_rule(open ? v1::OPEN_TO_PEERS : v1::INVITE_ONLY);
    auto r = submit(alice, conv, rules.SerializeAsString(), {}, {});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // The name `viewer` reads for `conv` in ListOpenGroups; nullopt when it is not listed.
  std::optional<std::string> listed_name(const Device& viewer, const ConvView& conv) {
    for (const auto& g : domain_->groups().open_groups(viewer.info.device_id)) {
      if (g.id == conv.id) return g.public_name + "|" + g.public_description;
    }
    return std::nullopt;
  }

  // The last entry of `conv`, read by `reader`, as a group event.
  v1::GroupEvent last_event(const Device& reader, const ConvView& conv) {
    const uint64_t last = domain_->conversations().durable_seq(conv.id);
    auto log = domain_->conversations().read(reader.info.device_id, conv.id, last - 1, 1, 1 << 20);
    v1::GroupEvent event;
    EXPECT_TRUE(log.ok() && log->size() == 1u &&
                log->front().record.kind() == static_cast<int>(EntryKind::kEvent) &&
                event.ParseFromString(log->front().record.payload()));
    return event;
  }

  Errc code(const Status& s) { return s ? Errc{} : s.error().code; }
};

TEST_F(ListingTest, OnlyAFacilitatorPublishesASignedListingOfAGroupOpenToPeers) {
  Device alice, bob, noa;
  for (auto [d, name] : {std::pair{&alice, "alice"}, {&bob, "bob"}, {&noa, "noa"}}) {
    ASSERT_TRUE(register_device(*d, name).ok());
  }
  ConvView conv = group(alice, {&bob});
  const auto good = listing(alice, conv, std::string(80, 'n'), std::string(1000, 'd'));
  EXPECT_EQ(code(publish(alice, conv, good)), Errc::kInvalidArgument);  // Invitation only.
  ASSERT_NO_FATAL_FAILURE(set_open(alice, conv, true));
  EXPECT_EQ(code(publish(bob, conv, listing(bob, conv, "Deuil", ""))), Errc::kForbidden);
  auto in_bobs_name = good;
  in_bobs_name.set_signer("bob");
  EXPECT_EQ(code(publish(alice, conv, in_bobs_name)), Errc::kForbidden);
  auto signed_by_bob = listing(bob, conv, "Deuil", "");
  signed_by_bob.set_signer("alice");
  EXPECT_EQ(code(publish(alice, conv, signed_by_bob)), Errc::kInvalidArgument);
  EXPECT_EQ(code(publish(alice, conv, listing(alice, conv, std::string(81, 'n'), ""))),
            Errc::kInvalidArgument);
  EXPECT_EQ(code(publish(alice, conv, listing(alice, conv, "Deuil", std::string(1001, 'd')))),
            Errc::kInvalidArgument);
  ConvView other = conv;
  other.id = create_group(alice).id;
  EXPECT_EQ(code(publish(alice, conv, listing(alice, other, "Deuil", ""))), Errc::kInvalidArgument);
  EXPECT_EQ(listed_name(noa, conv), "|");  // Listed with its charter, unnamed.

  ASSERT_TRUE(publish(alice, conv, good).ok());
  const std::string shown = std::string(80, 'n') + "|" + std::string(1000, 'd');
  EXPECT_EQ(listed_name(noa, conv), shown);
  const v1::GroupEvent event = last_event(bob, conv);
  EXPECT_EQ(event.published().SerializeAsString(), good.SerializeAsString());
  EXPECT_EQ(event.by(), "alice");
  restart();
  EXPECT_EQ(listed_name(noa, conv), shown);
}

TEST_F(ListingTest, AListingIsWithdrawnOrDroppedWhenTheGroupCloses) {
  Device alice, bob, noa, pro;
  for (auto [d, name] :
       {std::pair{&alice, "alice"}, {&bob, "bob"}, {&noa, "noa"}, {&pro, "dr_martin"}}) {
    ASSERT_TRUE(register_device(*d, name).ok());
  }
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "dr_martin", AccountType::kProfessional,
                                                     cb);
              }).ok());
  ConvView conv = group(alice, {&bob});
  ASSERT_NO_FATAL_FAILURE(set_open(alice, conv, true));
  ASSERT_TRUE(publish(alice, conv, listing(alice, conv, "Deuil", "Le jeudi")).ok());
  EXPECT_EQ(listed_name(noa, conv), "Deuil|Le jeudi");
  EXPECT_TRUE(domain_->groups().open_groups(pro.info.device_id).empty());
  ASSERT_TRUE(publish(alice, conv, v1::SignedPublicListing{}).ok());  // Withdrawn.
  const v1::GroupEvent withdrawn = last_event(bob, conv);
  EXPECT_TRUE(withdrawn.has_published() && withdrawn.published().listing().empty());
  EXPECT_EQ(listed_name(noa, conv), "|");

  ASSERT_TRUE(publish(alice, conv, listing(alice, conv, "Deuil", "Le jeudi")).ok());
  ASSERT_NO_FATAL_FAILURE(set_open(alice, conv, false));
  EXPECT_EQ(listed_name(noa, conv), std::nullopt);
  EXPECT_TRUE(conversation(conv.id).listing.empty());
  restart();
  ASSERT_NO_FATAL_FAILURE(set_open(alice, conv, true));  // Opened again: listed, unnamed.
  EXPECT_EQ(listed_name(noa, conv), "|");
}

}  // namespace
}  // namespace cercle::domain

// Groups on the domain alone: what the relay checks about invitations before recording them, and
// before a commit may use one; what a reader is told where entries were erased.
#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "server/domain/groups_fixture.h"

namespace cercle::domain {

// Refused: an invitation by a member who is not a facilitator (bob); `good` signed by another key;
// the wrong account type; another charter than the group's.
void GroupsTest::expect_bad_invitations_refused(const ConvView& conv, Device& alice, Device& bob,
                                                Device& pro, const v1::Invitation& good) {
  EXPECT_EQ(create(bob, policy::sign_invitation(
                            invitation(conv, bob, pro, v1::INVITEE_PROFESSIONAL), bob.sk))
                .error()
                .code,
            Errc::kForbidden);
  EXPECT_EQ(create(alice, policy::sign_invitation(good, bob.sk)).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(create(alice, policy::sign_invitation(invitation(conv, alice, pro, v1::INVITEE_PEER),
                                                  alice.sk))
                .error()
                .code,
            Errc::kInvalidArgument);
  EXPECT_EQ(
      create(alice, policy::sign_invitation(
                        invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL, "Autre"), alice.sk))
          .error()
          .code,
      Errc::kInvalidArgument);
}

namespace {

TEST_F(GroupsTest, TheRelayRecordsOnlyValidInvitationsAndAProfessionalEntersOnlyOnceWithOne) {
  Device alice, bob, pro;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ASSERT_TRUE(register_device(pro, "dr_martin").ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "dr_martin", AccountType::kProfessional,
                                                     cb);
              }).ok());
  ConvView conv = group(alice, {&bob});

  const auto good = invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL);
  expect_bad_invitations_refused(conv, alice, bob, pro, good);
  const auto signed_good = policy::sign_invitation(good, alice.sk);
  ASSERT_TRUE(create(alice, signed_good).ok());
  EXPECT_EQ(create(alice, signed_good).error().code,
            Errc::kInvalidArgument);       // Its nonce is known.
  ASSERT_FALSE(outbox_.notified.empty());  // The invitee's device heard of it.
  EXPECT_EQ(outbox_.notified.back().first, pro.info.device_id);
  EXPECT_EQ(domain_->groups().invitations_for(pro.info.device_id).size(), 1u);

  // Not before the invitee accepted; accepted by the invitee only.
  auto early = add_professional(alice, conv, pro, data_with(signed_good));
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message.find("accepted"), std::string::npos) << early.error().message;
  EXPECT_EQ(accept(bob, conv, good).error().code, Errc::kForbidden);
  ASSERT_TRUE(accept(pro, conv, good).ok());

  // A professional's packages must say so.
  EXPECT_FALSE(upload(pro, {{pro.mls->key_package(false), false}}).ok());
  auto added = add_professional(alice, conv, pro, data_with(signed_good));
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_TRUE(domain_->groups().invitations_for(pro.info.device_id).empty());

  // Removed, the professional cannot come back with the same invitation, even after a restart.
  ASSERT_TRUE(submit(alice, conv, std::nullopt, {}, {}, {&pro}).ok());
  restart();
  auto reused = add_professional(alice, conv, pro, data_with(signed_good));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, Errc::kForbidden);
  EXPECT_NE(reused.error().message.find("already used"), std::string::npos)
      << reused.error().message;
}

// The invitee alone declines, until the invitation is used (also after accepting it); the group
// sees it; the invitation leaves the invitee's list and no commit may use it, after a restart too.
TEST_F(GroupsTest, AnInviteeDeclinesAndNoCommitMayUseTheInvitation) {
  Device alice, bob, pro;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ASSERT_TRUE(register_device(pro, "dr_martin").ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "dr_martin", AccountType::kProfessional,
                                                     cb);
              }).ok());
  ConvView conv = group(alice, {&bob});
  const auto declined = invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL);
  const auto signed_declined = policy::sign_invitation(declined, alice.sk);
  ASSERT_TRUE(create(alice, signed_declined).ok());
  EXPECT_EQ(decline(bob, conv, declined).error().code, Errc::kForbidden);
  EXPECT_EQ(decline(alice, conv, declined).error().code, Errc::kForbidden);
  v1::Invitation unknown = declined;
  unknown.set_nonce(std::string(16, 'n'));
  EXPECT_EQ(decline(pro, conv, unknown).error().code, Errc::kNotFound);

  ASSERT_TRUE(accept(pro, conv, declined).ok());  // Then a change of mind.
  ASSERT_TRUE(decline(pro, conv, declined).ok());
  const uint64_t seen = domain_->conversations().durable_seq(conv.id);
  auto log = domain_->conversations().read(bob.info.device_id, conv.id, seen - 1, 1, 1 << 20);
  ASSERT_TRUE(log.ok() && log->size() == 1u);
  v1::GroupEvent event;
  ASSERT_EQ(log->front().record.kind(), static_cast<int>(EntryKind::kEvent));
  ASSERT_TRUE(event.ParseFromString(log->front().record.payload()));
  EXPECT_EQ(event.declined(), declined.nonce());
  EXPECT_EQ(event.by(), "dr_martin");
  ASSERT_TRUE(decline(pro, conv, declined).ok());  // Twice: nothing more.
  EXPECT_EQ(domain_->conversations().durable_seq(conv.id), seen);
  EXPECT_TRUE(domain_->groups().invitations_for(pro.info.device_id).empty());

  restart();
  EXPECT_EQ(accept(pro, conv, declined).error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(domain_->groups().invitations_for(pro.info.device_id).empty());
  auto used = add_professional(alice, conv, pro, data_with(signed_declined));
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.error().code, Errc::kForbidden);
  EXPECT_EQ(used.error().message, "the invitee declined this invitation");
}

// Used, revoked or expired: there is nothing left to decline.
TEST_F(GroupsTest, NothingIsLeftToDeclineOnceUsedRevokedOrExpired) {
  Device alice, pro;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(pro, "dr_martin").ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "dr_martin", AccountType::kProfessional,
                                                     cb);
              }).ok());
  ConvView conv = group(alice, {});
  const auto fresh = invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL);
  const auto revoked = invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL);
  for (const auto* i : {&fresh, &revoked}) {
    ASSERT_TRUE(create(alice, policy::sign_invitation(*i, alice.sk)).ok());
  }
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->groups().revoke_invitation(alice.info.device_id, conv.id, revoked.nonce(),
                                                    cb);
              }).ok());
  EXPECT_EQ(decline(pro, conv, revoked).error().code, Errc::kInvalidArgument);
  ASSERT_TRUE(accept(pro, conv, fresh).ok());
  auto added =
      add_professional(alice, conv, pro, data_with(policy::sign_invitation(fresh, alice.sk)));
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(decline(pro, conv, fresh).error().code, Errc::kInvalidArgument);
  ASSERT_TRUE(submit(alice, conv, std::nullopt, {}, {}, {&pro}).ok());
  const auto expiring = invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL);
  ASSERT_TRUE(create(alice, policy::sign_invitation(expiring, alice.sk)).ok());
  clock_.advance_ms(2 * 3'600'000LL);
  EXPECT_EQ(decline(pro, conv, expiring).error().code, Errc::kInvalidArgument);
}

TEST_F(GroupsTest, AnInvitationSignedAgainWithAnotherInvitationsNonceIsRefused) {
  Device alice, carol, pro;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(carol, "carol").ok());
  ASSERT_TRUE(register_device(pro, "dr_martin").ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "dr_martin", AccountType::kProfessional,
                                                     cb);
              }).ok());
  ConvView conv = group(alice, {});
  // The professional's own invitation is pending (not accepted); carol accepted hers.
  ASSERT_TRUE(create(alice, policy::sign_invitation(
                                invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL), alice.sk))
                  .ok());
  const auto for_carol = invitation(conv, alice, carol, v1::INVITEE_PEER);
  ASSERT_TRUE(create(alice, policy::sign_invitation(for_carol, alice.sk)).ok());
  ASSERT_TRUE(accept(carol, conv, for_carol).ok());
  // The facilitator signs a new invitation for the professional under carol's accepted nonce:
  // every signature checks out, but it is not what the relay recorded and members were shown.
  v1::Invitation forged = invitation(conv, alice, pro, v1::INVITEE_PROFESSIONAL);
  forged.set_nonce(for_carol.nonce());
  auto r = add_professional(alice, conv, pro, data_with(policy::sign_invitation(forged, alice.sk)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kForbidden);
  EXPECT_NE(r.error().message.find("recorded"), std::string::npos) << r.error().message;
}

TEST_F(GroupsTest, AReaderIsToldWhereEntriesWereErased) {
  Device alice, bob;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ConvView conv = group(alice, {&bob});
  const uint64_t epoch = alice.mls->epoch(conv.id.str());
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 4; ++i) {
    auto sent = send(bob, conv.id, epoch, message(bob, conv.id, "message " + std::to_string(i)));
    ASSERT_TRUE(sent.ok());
    seqs.push_back(sent->seq);
  }
  // A facilitator deletes the second: bob (only a member) may not.
  EXPECT_EQ(await<Ok>([&](auto cb) {
              domain_->groups().delete_entry(bob.info.device_id, conv.id, seqs[1], cb);
            })
                .error()
                .code,
            Errc::kForbidden);
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->groups().delete_entry(alice.info.device_id, conv.id, seqs[1], cb);
              }).ok());
  auto read = domain_->conversations().read(bob.info.device_id, conv.id, seqs[0], 100, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_GE(read->size(), 4u);
  EXPECT_EQ((*read)[0].record.kind(), static_cast<int>(EntryKind::kErased));
  EXPECT_EQ((*read)[0].record.erased_from(), seqs[1]);
  EXPECT_EQ((*read)[0].seq, seqs[1]);
  EXPECT_EQ((*read)[1].seq, seqs[2]);
  EXPECT_EQ(read->back().record.kind(), static_cast<int>(EntryKind::kEvent));  // deleted_seq.
  v1::GroupEvent event;
  ASSERT_TRUE(event.ParseFromString(read->back().record.payload()));
  EXPECT_EQ(event.deleted_seq(), seqs[1]);
  EXPECT_EQ(event.by(), "alice");

  // Retention: alice sets one day; two days later everything up to now is erased, in one range.
  v1::GroupPolicy rules;
  ASSERT_TRUE(rules.ParseFromString(*alice.mls->policy(conv.id.str())));
  rules.set_retention_days(1);
  ASSERT_TRUE(submit(alice, conv, rules.SerializeAsString(), {}, {}).ok());
  clock_.advance_ms(2 * 24 * 3'600'000LL);
  EXPECT_EQ(domain_->groups().erase_expired(), 1u);
  auto fresh =
      send(bob, conv.id, alice.mls->epoch(conv.id.str()), message(bob, conv.id, "aujourd'hui"));
  ASSERT_TRUE(fresh.ok());
  pump_until([&] { return domain_->conversations().durable_seq(conv.id) >= fresh->seq; });
  auto after = domain_->conversations().read(bob.info.device_id, conv.id, 0, 100, 1 << 20);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].record.kind(), static_cast<int>(EntryKind::kErased));
  EXPECT_EQ((*after)[1].seq, fresh->seq);
  EXPECT_EQ((*after)[0].seq, fresh->seq - 1);
}

TEST_F(GroupsTest, AKeyPackageFetchedBeforeAnAccountTypeChangeNoLongerAddsTheDevice) {
  Device alice, dana;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(dana, "dana").ok());
  ConvView conv = group(alice, {});
  const std::string g = conv.id.str();
  // Dana's package says "peer"; then the admin makes her a professional.
  const std::string stale = upload_key_package(dana);
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->identity().set_account_type(0, "dana", AccountType::kProfessional, cb);
              }).ok());
  auto try_add = [&] {
    auto built = alice.mls->commit(g, {stale}, {}, std::nullopt, {});
    auto r = await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(
          alice.info.device_id,
          commit_args(conv.id, alice.mls->epoch(g), built, {dana.info.device_id}), cb);
    });
    alice.mls->discard(g);
    return r;
  };
  auto r = try_add();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound) << r.error().message;
  restart();  // The ref is gone from RocksDB too, not only from memory.
  r = try_add();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound) << r.error().message;
}

TEST_F(GroupsTest, ReportsAndInvitationsStayBoundedWhateverAMemberSends) {
  Device alice, bob, carol;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ASSERT_TRUE(register_device(carol, "carol").ok());
  ConvView conv = group(alice, {&bob});
  auto sent =
      send(bob, conv.id, alice.mls->epoch(conv.id.str()), message(bob, conv.id, "un message"));
  ASSERT_TRUE(sent.ok());
  pump_until([&] { return domain_->conversations().durable_seq(conv.id) >= sent->seq; });

  // Bob's unread reports to alice's device stop at 16; the 17th is told why.
  auto report = [&] {
    return await<Ok>([&](auto cb) {
      domain_->groups().report_to_facilitators(bob.info.device_id, conv.id,
                                               {{alice.info.device_id, std::string(64, 'x')}}, cb);
    });
  };
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(report().ok()) << i;
  auto full = report();
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, Errc::kLimitReached);

  // Unanswered reports to the admins: 16 per account.
  auto to_admins = [&] {
    return await<uint64_t>([&](auto cb) {
      domain_->groups().report_to_admins(bob.info.device_id, conv.id, sent->seq, "texte", "raison",
                                         cb);
    });
  };
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(to_admins().ok()) << i;
  auto too_many = to_admins();
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, Errc::kLimitReached);

  // Invite and revoke in a loop: expired invitations are forgotten, so a new one is taken after
  // the old ones expire, and their records leave the disk.
  const auto first = invitation(conv, alice, carol, v1::INVITEE_PEER);
  ASSERT_TRUE(create(alice, policy::sign_invitation(first, alice.sk)).ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->groups().revoke_invitation(alice.info.device_id, conv.id, first.nonce(),
                                                    cb);
              }).ok());
  clock_.advance_ms(2 * 3'600'000LL);  // Past the first one's expiry (one hour).
  ASSERT_TRUE(create(alice, policy::sign_invitation(
                                invitation(conv, alice, carol, v1::INVITEE_PEER), alice.sk))
                  .ok());
  restart();
  // The first is gone for good: carol cannot accept it, even after a restart.
  auto gone = accept(carol, conv, first);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::kNotFound) << gone.error().message;
  EXPECT_EQ(domain_->groups().invitations_for(carol.info.device_id).size(), 1u);
}

TEST_F(GroupsTest, AReplacedLastResortPackageNoLongerAddsItsDevice) {
  Device alice, bob;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ConvView conv = group(alice, {});
  const std::string g = conv.id.str();
  const std::string old_package = bob.mls->key_package();
  ASSERT_TRUE(upload(bob, {{old_package, true}}).ok());
  ASSERT_TRUE(upload(bob, {{bob.mls->key_package(), true}}).ok());  // Replaces it.
  restart();
  auto built = alice.mls->commit(g, {old_package}, {}, std::nullopt, {});
  auto r = await<CommitOk>([&](auto cb) {
    domain_->conversations().commit(
        alice.info.device_id,
        commit_args(conv.id, alice.mls->epoch(g), built, {bob.info.device_id}), cb);
  });
  alice.mls->discard(g);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound) << r.error().message;
}

TEST_F(GroupsTest, NoCommitTakesTheGroupsRulesAway) {
  Device alice, bob;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ConvView conv = group(alice, {&bob});
  const std::string g = conv.id.str();
  for (Device* by : {&bob, &alice}) {  // A member, and even a facilitator.
    auto built = by->mls->commit_without_extensions(g);
    auto r = await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(
          by->info.device_id, CommitArgs{conv.id, by->mls->epoch(g), built.message, {}, {}, {}},
          cb);
    });
    by->mls->discard(g);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kForbidden);
    EXPECT_NE(r.error().message.find("rules away"), std::string::npos) << r.error().message;
  }
}

// A member who is not a facilitator proposes only what the rules could let a commit do, so that
// no honest facilitator's client holds a proposal it may never commit.
TEST_F(GroupsTest, APlainMemberProposesOnlyWhatTheRulesCouldCommit) {
  Device alice, bob, carol, dave, erin;
  for (auto [d, name] : {std::pair{&alice, "alice"},
                         {&bob, "bob"},
                         {&carol, "carol"},
                         {&dave, "dave"},
                         {&erin, "erin"}}) {
    ASSERT_TRUE(register_device(*d, name).ok());
  }
  ConvView conv = group(alice, {&bob, &carol});  // Invitation only: alice alone facilitates.
  const std::string g = conv.id.str();
  auto propose = [&](Device& by, const mls::Proposal& p) -> std::optional<Errc> {
    auto r = send(by, conv.id, by.mls->epoch(g), by.mls->propose(g, p), EntryKind::kProposal);
    by.mls->discard(g);
    return r ? std::nullopt : std::optional(r.error().code);
  };
  auto add = [&](Device& d) {
    const std::string kp = upload_key_package(d);
    auto parsed = mls::parse_key_package(
        mls::BytesView(reinterpret_cast<const uint8_t*>(kp.data()), kp.size()));
    return mls::Proposal{mls::AddProposal{*parsed}};
  };
  const mls::Proposal remove_carol{
      mls::RemoveProposal{static_cast<uint32_t>(bob.mls->leaf_of(g, "carol"))}};
  v1::GroupPolicy open = policy::initial_policy("alice");
  open.set_join_rule(v1::OPEN_TO_PEERS);
  open.set_charter("Bienveillance");
  const std::string open_bytes = open.SerializeAsString();
  const mls::Proposal open_up{mls::GroupContextExtensionsProposal{{mls::Extension{
      policy::kRolesExtensionType, mls::Bytes(open_bytes.begin(), open_bytes.end())}}}};

  EXPECT_EQ(propose(bob, remove_carol), Errc::kForbidden);
  EXPECT_EQ(propose(bob, add(dave)), Errc::kForbidden);
  EXPECT_EQ(propose(bob, open_up), Errc::kForbidden);
  EXPECT_EQ(propose(bob, mls::Proposal{mls::RemoveProposal{bob.mls->leaf(g)}}), std::nullopt);
  EXPECT_EQ(propose(alice, remove_carol), std::nullopt);
  EXPECT_EQ(propose(alice, add(dave)), std::nullopt);

  // Open to peers: bob proposes adding a peer who asked to join, not one who did not.
  ASSERT_TRUE(submit(alice, conv, open_bytes, {}, {}).ok());
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->groups().request_join(dave.info.device_id, conv.id, cb);
              }).ok());
  EXPECT_EQ(propose(bob, add(erin)), Errc::kForbidden);
  EXPECT_EQ(propose(bob, add(dave)), std::nullopt);
}

// Every group carries its rules (0xF0A0): a KeyPackage that does not list it in its capabilities
// could never be added (members refuse it), so the relay does not take it.
TEST_F(GroupsTest, AKeyPackageMustSupportTheGroupRulesExtension) {
  Device bob;
  ASSERT_TRUE(register_device(bob, "bob").ok());
  const std::string honest = bob.mls->key_package();
  auto kp = *mls::parse_key_package(
      mls::BytesView(reinterpret_cast<const uint8_t*>(honest.data()), honest.size()));
  kp.leaf_node.capabilities.extensions.clear();
  const auto& key = bob.mls->signer();
  kp.leaf_node.signature =
      mls::sign_with_label(key, "LeafNodeTBS", kp.leaf_node.to_be_signed({}, 0));
  kp.signature = mls::sign_with_label(key, "KeyPackageTBS", kp.to_be_signed());
  const mls::Bytes encoded = mls::encode(kp);
  auto r = upload(bob, {{std::string(encoded.begin(), encoded.end()), false}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("0xF0A0"), std::string::npos) << r.error().message;
  EXPECT_TRUE(upload(bob, {{honest, false}}).ok());
}

TEST_F(SeanceTest, TheRelayChecksEachSeanceEventAndHoldsMessagesBack) {
  Device alice, bob;
  ConvView conv = seance_group(alice, bob);
  EXPECT_EQ(says(bob, conv, "avant"), Errc::kForbidden);  // No séance open.
  EXPECT_EQ(says(alice, conv, "jeudi 18 h"), Errc{});     // Facilitators are never held back.
  EXPECT_EQ(post(bob, conv, opened()).error().code, Errc::kForbidden);  // Facilitators open.
  EXPECT_EQ(post(alice, conv, opened(), &bob).error().code, Errc::kForbidden);  // Bob's key.
  EXPECT_EQ(post(bob, conv, confirmed(), nullptr, "alice").error().code, Errc::kForbidden);
  ASSERT_TRUE(post(alice, conv, opened()).ok());
  EXPECT_EQ(post_signed(alice, conv, last_).error().code, Errc::kSeanceConflict);  // Replayed.
  EXPECT_EQ(says(bob, conv, "bonjour"), Errc::kForbidden);  // The charter first.
  ASSERT_TRUE(post(bob, conv, confirmed()).ok());
  EXPECT_EQ(says(bob, conv, "bonjour"), Errc{});
  v1::SeanceEvent floor;
  floor.set_floor_given("alice");
  ASSERT_TRUE(post(alice, conv, floor).ok());
  EXPECT_EQ(says(bob, conv, "moi"), Errc::kForbidden);

  restart();  // The state is the record's.
  EXPECT_EQ(says(bob, conv, "moi"), Errc::kForbidden);
  v1::SeanceEvent back;
  back.mutable_floor_back();
  ASSERT_TRUE(post(alice, conv, back).ok());
  EXPECT_EQ(says(bob, conv, "moi"), Errc{});
  auto direct = await<ConvView>([&](auto cb) {
    domain_->conversations().create(alice.info.device_id, ConvKind::kDirect, "bob", cb);
  });
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(post(alice, *direct, opened()).error().code, Errc::kInvalidArgument);
}

TEST_F(SeanceTest, AClosedSeancesMessagesAreErasedWhenDueAndTheRestStays) {
  Device alice, bob;
  ConvView conv = seance_group(alice, bob);
  ASSERT_TRUE(post(alice, conv, opened()).ok());
  ASSERT_TRUE(post(bob, conv, confirmed()).ok());
  uint64_t first = 0, second = 0;
  ASSERT_TRUE(says(bob, conv, "un") == Errc{} && says(bob, conv, "deux", &first) == Errc{});
  auto commit = submit(alice, conv, std::nullopt, {}, {});  // In the window: it stays.
  ASSERT_TRUE(commit.ok()) << commit.error().message;
  ASSERT_EQ(says(bob, conv, "trois", &second), Errc{});
  v1::SeanceEvent closed;
  closed.mutable_closed();
  ASSERT_TRUE(post(alice, conv, closed).ok());
  ASSERT_EQ(says(alice, conv, "après"), Errc{});  // After the séance: kept.
  pump_until([&] { return domain_->conversations().durable_seq(conv.id) > second + 1; });

  restart();  // The erasure is scheduled in the record.
  clock_.advance_ms(5 * 60'000);
  EXPECT_EQ(domain_->groups().erase_expired(), 0u);
  clock_.advance_ms(6 * 60'000);
  EXPECT_EQ(domain_->groups().erase_expired(), 1u);
  uint64_t later = 0;  // Written after the erasure: once durable, so is the erasure.
  ASSERT_EQ(says(alice, conv, "plus tard", &later), Errc{});
  pump_until([&] { return domain_->conversations().durable_seq(conv.id) >= later; });
  auto log = domain_->conversations().read(bob.info.device_id, conv.id, 0, 100, 1 << 20);
  ASSERT_TRUE(log.ok());
  std::map<uint64_t, int> kinds;
  for (const auto& e : *log) kinds[e.seq] = e.record.kind();
  EXPECT_EQ(kinds[first], static_cast<int>(EntryKind::kErased));
  EXPECT_EQ(kinds[second], static_cast<int>(EntryKind::kErased));
  EXPECT_EQ(kinds[commit->seq], static_cast<int>(EntryKind::kCommit));
  EXPECT_EQ(kinds[second + 1], static_cast<int>(EntryKind::kEvent));        // closed.
  EXPECT_EQ(kinds[second + 2], static_cast<int>(EntryKind::kApplication));  // après.
  EXPECT_EQ(kinds[first - 2], static_cast<int>(EntryKind::kEvent));         // confirmed.
}

}  // namespace
}  // namespace cercle::domain

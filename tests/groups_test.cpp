// Groupes de parole with the real server and SDK clients: who may join (professionals only by
// invitation, whatever the join rule; expired, revoked or used invitations fail; an objection keeps
// a professional out; banned accounts never come back), who may change the group (facilitators),
// and what every member sees (roles, professionals marked). Moderation, retention, reports and the
// instance admin: groups_moderation_test.cpp. RawGroupsTest: what the relay alone refuses, over the
// raw protocol.
#include <gtest/gtest.h>

#include "cercle/policy/policy.h"
#include "cercle/policy/seance.h"
#include "testing/relay_fixture.h"
#include "tests/groups_fixture.h"

namespace cercle::testing {
namespace {

TEST_F(GroupsTest, AProfessionalJoinsOnlyByInvitationAndEveryoneSeesThemMarked) {
  user("camille");
  user("sam");
  user("lou");
  user("dr_martin", /*professional=*/true);
  const std::string conv = group("camille", {"sam", "lou"});

  // Without an invitation the relay refuses the professional, even from a facilitator.
  auto direct = users_["camille"]->add_member(conv, "dr_martin");
  EXPECT_EQ(server_code(direct), v1::FORBIDDEN) << (direct.ok() ? "" : direct.error().message);

  // With one (accompanying sam), once the professional accepted the charter, camille's client adds
  // them; the whole group saw the invitation first.
  auto invitation = users_["camille"]->invite(conv, "dr_martin", "sam");
  ASSERT_TRUE(invitation.ok()) << invitation.error().message;
  EXPECT_TRUE(invitation->professional);
  ASSERT_TRUE(until([&] {
    return has_event("lou", Event::Kind::kInvited) &&
           has_event("dr_martin", Event::Kind::kInvitation);
  }));
  auto mine = users_["dr_martin"]->invitations();
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].accompanying, "sam");
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation((*mine)[0]).ok());
  ASSERT_TRUE(until([&] {
    return member_of("dr_martin", conv) && same_epoch(conv, {"camille", "sam", "lou", "dr_martin"});
  }));

  for (const std::string name : {"camille", "sam", "lou", "dr_martin"}) {
    auto members = users_[name]->members(conv);
    ASSERT_TRUE(members.ok());
    bool marked = false;
    for (const auto& m : *members) {
      if (m.handle != "dr_martin") {
        EXPECT_FALSE(m.professional) << name << " sees " << m.handle;
        continue;
      }
      marked = m.professional && m.role == Role::kInvitedProfessional && m.accompanying == "sam";
    }
    EXPECT_TRUE(marked) << name;
  }
  ASSERT_TRUE(users_["dr_martin"]->send_text(conv, "Bonjour, je suis là pour Sam.").ok());
  ASSERT_TRUE(until([&] { return sees("lou", conv, "Bonjour, je suis là pour Sam."); }));
  for (const auto& m : *users_["lou"]->history(conv)) {
    if (m.sender == "dr_martin") {
      EXPECT_TRUE(m.professional);
    }
  }
}

TEST_F(GroupsTest, AnOpenGroupAdmitsPeersWhoAskButNeverAProfessional) {
  user("camille");
  user("sam");
  user("noa");
  user("dr_martin", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.open_to_peers = true;
  rules.charter = "Bienveillance, confidentialité, pas de conseils médicaux.";
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());

  auto open = users_["noa"]->open_groups();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].charter, rules.charter);
  ASSERT_TRUE(users_["noa"]->request_join(conv).ok());
  ASSERT_TRUE(until([&] {
    return member_of("noa", conv) && same_epoch(conv, {"camille", "sam", "noa"});
  }));

  // A professional sees no open group, may not ask, and a member adding one is refused.
  EXPECT_TRUE(users_["dr_martin"]->open_groups()->empty());
  EXPECT_EQ(server_code(users_["dr_martin"]->request_join(conv)), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["sam"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
  ASSERT_NO_FATAL_FAILURE(settled("dr_martin"));
  EXPECT_FALSE(member_of("dr_martin", conv));
}

TEST_F(GroupsTest, ExpiredRevokedAndUsedInvitationsFail) {
  user("camille");
  user("sam");
  user("dr_martin", /*professional=*/true);
  user("dr_leroy", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});

  // Revoked before it is accepted: accepting fails, and nobody is added.
  auto revoked = users_["camille"]->invite(conv, "dr_martin");
  ASSERT_TRUE(revoked.ok());
  ASSERT_TRUE(users_["camille"]->revoke_invitation(conv, revoked->id).ok());
  EXPECT_EQ(server_code(users_["dr_martin"]->accept_invitation(*revoked)), v1::INVALID_ARGUMENT);
  ASSERT_TRUE(until([&] { return has_event("sam", Event::Kind::kInvitationRevoked); }));
  EXPECT_TRUE(users_["dr_martin"]->invitations()->empty());

  // Expired: valid one hour, and the server's clock moves two hours on.
  auto expiring = users_["camille"]->invite(conv, "dr_leroy", "", std::chrono::hours(1));
  ASSERT_TRUE(expiring.ok());
  int status = -1;
  run_admin(data(), {"clock", "advance", "2"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(server_code(users_["dr_leroy"]->accept_invitation(*expiring)), v1::INVALID_ARGUMENT);
  ASSERT_NO_FATAL_FAILURE(settled("dr_leroy"));
  EXPECT_FALSE(member_of("dr_leroy", conv));

  // Used: dr_martin joins with a new invitation, is removed, and cannot come back with it.
  auto fresh = users_["camille"]->invite(conv, "dr_martin");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(until([&] { return has_event("dr_martin", Event::Kind::kInvitation); }));
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation(*fresh).ok());
  ASSERT_TRUE(until([&] { return member_of("dr_martin", conv); }));
  ASSERT_TRUE(users_["camille"]->remove_member(conv, "dr_martin").ok());
  ASSERT_TRUE(until([&] { return has_event("dr_martin", Event::Kind::kLeft); }));
  EXPECT_EQ(server_code(users_["dr_martin"]->accept_invitation(*fresh)), v1::INVALID_ARGUMENT);
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
}

TEST_F(GroupsTest, WithAnObjectionDelayAProfessionalWaitsAndAnObjectionKeepsThemOut) {
  user("camille");
  user("sam");
  user("dr_martin", /*professional=*/true);
  user("dr_leroy", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.objection_hours = 24;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "sam"}); }));

  auto martin = users_["camille"]->invite(conv, "dr_martin");
  auto leroy = users_["camille"]->invite(conv, "dr_leroy");
  ASSERT_TRUE(martin.ok() && leroy.ok());
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation(*martin).ok());
  ASSERT_TRUE(users_["dr_leroy"]->accept_invitation(*leroy).ok());
  // Accepted, but the members have a day to object: nobody comes in yet.
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "dr_martin")), v1::FORBIDDEN);
  ASSERT_TRUE(until([&] { return has_event("sam", Event::Kind::kInvitationAccepted); }));
  ASSERT_TRUE(users_["sam"]->object_to_invitation(conv, leroy->id).ok());
  int status = -1;
  run_admin(data(), {"clock", "advance", "25"}, &status);
  ASSERT_EQ(status, 0);
  // A day later: the professional nobody objected to joins; the other stays out.
  ASSERT_TRUE(users_["camille"]->add_member(conv, "dr_martin").ok());
  ASSERT_TRUE(until([&] { return member_of("dr_martin", conv); }));
  auto objected = users_["camille"]->add_member(conv, "dr_leroy");
  EXPECT_EQ(server_code(objected), v1::FORBIDDEN);
  EXPECT_NE(objected.error().message.find("objected"), std::string::npos)
      << objected.error().message;
  ASSERT_NO_FATAL_FAILURE(settled("dr_leroy"));
  EXPECT_FALSE(member_of("dr_leroy", conv));
}

TEST_F(GroupsTest, OnlyFacilitatorsChangeTheGroupAndBannedMembersNeverReturn) {
  user("camille");
  user("sam");
  user("lou");
  user("noa");
  const std::string conv = group("camille", {"sam", "lou"});

  EXPECT_EQ(server_code(users_["sam"]->add_member(conv, "noa")), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["sam"]->remove_member(conv, "lou")), v1::FORBIDDEN);
  EXPECT_EQ(server_code(users_["sam"]->set_role(conv, "sam", Role::kFacilitator)), v1::FORBIDDEN);
  client::GroupRules rules = *users_["sam"]->rules(conv);
  rules.open_to_peers = true;
  EXPECT_EQ(server_code(users_["sam"]->set_rules(conv, rules)), v1::FORBIDDEN);
  auto invitation = users_["sam"]->invite(conv, "noa");
  ASSERT_FALSE(invitation.ok());
  EXPECT_EQ(invitation.error().server_code, v1::FORBIDDEN);
  EXPECT_TRUE(same_epoch(conv, {"camille", "sam", "lou"}));

  // Anyone may leave.
  ASSERT_TRUE(users_["lou"]->leave(conv).ok());
  ASSERT_TRUE(until([&] { return has_event("lou", Event::Kind::kLeft); }));

  // A banned member is removed and cannot come back: not added, not invited, not by asking.
  ASSERT_TRUE(users_["camille"]->ban(conv, "sam").ok());
  ASSERT_TRUE(until([&] { return has_event("sam", Event::Kind::kLeft); }));
  EXPECT_EQ(server_code(users_["camille"]->add_member(conv, "sam")), v1::FORBIDDEN);
  auto invited = users_["camille"]->invite(conv, "sam");
  ASSERT_FALSE(invited.ok());
  EXPECT_EQ(invited.error().server_code, v1::FORBIDDEN);
  rules = *users_["camille"]->rules(conv);
  rules.open_to_peers = true;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  EXPECT_EQ(server_code(users_["sam"]->request_join(conv)), v1::FORBIDDEN);
}

// The relay alone, over the raw protocol (an honest client would not even try what is refused
// here): alice facilitates, dr_martin is a professional she invites.
class RawGroupsTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server());
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice_));
    ASSERT_NO_FATAL_FAILURE(register_device("dr_martin", &pro_));
    int status = -1;
    run_admin(data_dir(), {"account", "set-type", "dr_martin", "professional"}, &status);
    ASSERT_EQ(status, 0);
    ASSERT_NO_FATAL_FAILURE(create_group(alice_, &conv_));
    auto first = alice_.mls->commit(conv_, {}, {}, facilitating_policy(std::nullopt, "alice", {}));
    auto r = alice_.ws->call(commit_frame(conv_, 0, first));
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    alice_.mls->adopt(conv_);
  }

  // Alice's invitation of dr_martin, recorded by the relay.
  void invite(v1::SignedInvitation* out) { invite_professional(alice_, conv_, "dr_martin", out); }

  // DeclineInvitation (else AcceptInvitation) of `nonce` from dr_martin: the answer.
  std::optional<v1::Response> answer(bool decline, const std::string& nonce) {
    v1::ClientFrame f;
    f.mutable_decline_invitation()->set_conversation_id(conv_);
    f.mutable_decline_invitation()->set_nonce(nonce);
    if (!decline) {
      f.mutable_accept_invitation()->set_conversation_id(conv_);
      f.mutable_accept_invitation()->set_nonce(nonce);
    }
    return pro_.ws->call(f);
  }

  TestDevice alice_, pro_;
  std::string conv_;
};

// The invitee says no after accepting: the group sees it (GroupEvent declined, by the invitee),
// the invitation leaves the invitee's list, accepting it again fails, and alice's commit adding
// dr_martin with it is refused in the words of the policy (POLICY_REFUSAL_INVITATION_DECLINED).
TEST_F(RawGroupsTest, ADeclinedInvitationCannotBeUsed) {
  v1::SignedInvitation invitation;
  ASSERT_NO_FATAL_FAILURE(invite(&invitation));
  v1::Invitation i;
  ASSERT_TRUE(i.ParseFromString(invitation.invitation()));
  auto r = answer(false, i.nonce());
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  for (int twice = 0; twice < 2; ++twice) {
    r = answer(true, i.nonce());
    ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  }
  r = answer(false, i.nonce());
  ASSERT_TRUE(r && r->has_error());
  EXPECT_EQ(r->error().code(), v1::INVALID_ARGUMENT);
  v1::ClientFrame list;
  list.mutable_list_invitations();
  r = pro_.ws->call(list);
  ASSERT_TRUE(r && r->has_invitations());
  EXPECT_EQ(r->invitations().signed_invitations_size(), 0);
  std::vector<v1::Delivery> log;
  ASSERT_NO_FATAL_FAILURE(fetch_all(alice_, conv_, &log));
  v1::GroupEvent event;
  ASSERT_TRUE(log.back().kind() == v1::EVENT && event.ParseFromString(log.back().payload()));
  EXPECT_EQ(event.declined(), i.nonce());
  EXPECT_EQ(event.by(), "dr_martin");

  const std::string kp = pro_.mls->key_package(/*professional=*/true);
  v1::ClientFrame upload;
  upload.mutable_upload_key_packages()->add_key_packages()->set_data(kp);
  ASSERT_TRUE(pro_.ws->call(upload)->has_upload_key_packages());
  v1::CommitData data;
  *data.add_invitations() = invitation;
  auto c = alice_.mls->commit(conv_, {kp}, {}, std::nullopt, data.SerializeAsString());
  r = alice_.ws->call(commit_frame(conv_, 1, c, {pro_.device_id}));
  alice_.mls->discard(conv_);
  ASSERT_TRUE(r && r->has_error());
  EXPECT_EQ(r->error().code(), v1::FORBIDDEN);
  EXPECT_EQ(r->error().message(), "the invitee declined this invitation");
}

// Séance events over the wire: recorded once; the same event again is SEANCE_CONFLICT (its
// `previous` is no longer the last event's hash); one in another's name is FORBIDDEN.
TEST_F(RawGroupsTest, ASeanceEventIsRecordedOnceAndOnlyInItsAuthorsName) {
  v1::GroupPolicy rules;
  ASSERT_TRUE(rules.ParseFromString(alice_.mls->policy(conv_).value_or("")));
  rules.mutable_seances()->set_write_only_in_seance(true);
  auto c = alice_.mls->commit(conv_, {}, {}, rules.SerializeAsString());
  auto r = alice_.ws->call(commit_frame(conv_, 1, c));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  alice_.mls->adopt(conv_);
  auto post = [&](const std::string& author) {
    v1::SeanceEvent e;
    e.set_conversation_id(conv_);
    e.set_seance_id(std::string(16, 's'));
    e.set_author(author);
    e.mutable_opened()->set_charter_hash(policy::seance::charter_hash(rules.charter()));
    v1::ClientFrame f;
    f.mutable_post_seance_event()->set_conversation_id(conv_);
    f.mutable_post_seance_event()->set_signed_event(
        policy::seance::sign(e, alice_.key.sk).SerializeAsString());
    auto answer = alice_.ws->call(f);
    EXPECT_TRUE(answer) << "timeout";
    return answer && answer->has_error() ? answer->error().code() : v1::ERROR_CODE_UNSPECIFIED;
  };
  EXPECT_EQ(post("dr_martin"), v1::FORBIDDEN);
  EXPECT_EQ(post("alice"), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(post("alice"), v1::SEANCE_CONFLICT);
}

}  // namespace
}  // namespace cercle::testing

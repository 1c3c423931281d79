// Moderation of a groupe de parole with the real server and SDK clients: a muted member's messages
// are refused, deletion for everyone and the retention period (the messages checked gone from the
// data folder's files), reports to the facilitators only and to the admins, and an instance admin
// who has no power inside a group; an invitee who declines. Who joins and who changes the group:
// groups_test.cpp.
#include <gtest/gtest.h>

#include "tests/groups_fixture.h"

namespace cercle::testing {
namespace {

TEST_F(GroupsTest, AMutedMembersMessagesAreRefusedUntilUnmuted) {
  user("camille");
  user("sam");
  const std::string conv = group("camille", {"sam"});
  ASSERT_TRUE(users_["camille"]->mute(conv, "sam", true).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "sam"}); }));
  auto refused = users_["sam"]->send_text(conv, "je parle quand même");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().server_code, v1::FORBIDDEN);
  ASSERT_TRUE(users_["camille"]->mute(conv, "sam", false).ok());
  ASSERT_TRUE(until([&] { return same_epoch(conv, {"camille", "sam"}); }));
  ASSERT_TRUE(users_["sam"]->send_text(conv, "merci").ok());
  EXPECT_TRUE(until([&] { return sees("camille", conv, "merci"); }));
  EXPECT_FALSE(sees("camille", conv, "je parle quand même"));
}

TEST_F(GroupsTest, ADeletedMessageDisappearsForEveryoneAndFromTheDisk) {
  user("camille");
  user("sam");
  user("lou");
  const std::string conv = group("camille", {"sam", "lou"});
  auto seq = users_["sam"]->send_text(conv, "un message à retirer");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(users_["sam"]->send_text(conv, "un message qui reste").ok());
  ASSERT_TRUE(until([&] {
    return sees("lou", conv, "un message qui reste") &&
           sees("camille", conv, "un message qui reste");
  }));
  const std::string ciphertext = stored_payload("lou", conv, *seq);
  ASSERT_GT(ciphertext.size(), 32u);
  ASSERT_TRUE(on_disk(ciphertext));

  EXPECT_EQ(server_code(users_["lou"]->delete_message(conv, *seq)),
            v1::FORBIDDEN);  // Not a facilitator.
  ASSERT_TRUE(users_["camille"]->delete_message(conv, *seq).ok());
  ASSERT_TRUE(until([&] {
    return !sees("lou", conv, "un message à retirer") &&
           !sees("sam", conv, "un message à retirer") &&
           !sees("camille", conv, "un message à retirer");
  }));
  EXPECT_TRUE(sees("lou", conv, "un message qui reste"));
  EXPECT_TRUE(gone_from_disk(ciphertext));
}

TEST_F(GroupsTest, MessagesPastTheRetentionPeriodAreGoneFromTheDisk) {
  user("camille");
  user("sam");
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.retention_days = 30;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  auto seq = users_["sam"]->send_text(conv, "un vieux message");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] { return sees("camille", conv, "un vieux message"); }));
  const std::string ciphertext = stored_payload("camille", conv, *seq);
  ASSERT_TRUE(on_disk(ciphertext));

  int status = -1;
  run_admin(data(), {"clock", "advance", std::to_string(31 * 24)}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_TRUE(gone_from_disk(ciphertext));
  // The members' devices let it go too, once they see the server's time move on.
  ASSERT_TRUE(users_["camille"]->send_text(conv, "un message d'aujourd'hui").ok());
  EXPECT_TRUE(until([&] {
    return sees("sam", conv, "un message d'aujourd'hui") && !sees("sam", conv, "un vieux message");
  }));
  // A device catching up now is told the old entries are erased, and follows on.
  users_["sam"].reset();
  user("sam");
  ASSERT_TRUE(users_["camille"]->send_text(conv, "encore un").ok());
  EXPECT_TRUE(until([&] { return sees("sam", conv, "encore un"); }));
}

TEST_F(GroupsTest, AReportReachesTheFacilitatorsAndNobodyElse) {
  user("camille");
  user("alex");
  user("sam");
  user("lou");
  const std::string conv = group("camille", {"alex", "sam", "lou"});
  ASSERT_TRUE(users_["camille"]->set_role(conv, "alex", Role::kFacilitator).ok());
  auto seq = users_["sam"]->send_text(conv, "un message déplacé");
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(until([&] {
    return sees("lou", conv, "un message déplacé") &&
           same_epoch(conv, {"camille", "alex", "sam", "lou"});
  }));
  const std::string reason = "propos blessants envers un membre";
  ASSERT_TRUE(users_["lou"]->report(conv, *seq, reason).ok());
  auto got_report = [&](const std::string& name) {
    for (const auto& e : seen_[name]) {
      if (e.kind == Event::Kind::kReport && e.report.seq == *seq && e.report.reason == reason &&
          e.report.text == "un message déplacé" && e.report.reporter == "lou") {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(until([&] { return got_report("camille") && got_report("alex"); }));
  EXPECT_FALSE(until(
      [&] {
        return has_event("sam", Event::Kind::kReport) || has_event("lou", Event::Kind::kReport);
      },
      1s));
  // The relay kept only sealed bytes: the reason is nowhere in its files.
  EXPECT_FALSE(on_disk(reason));

  // To the admins, the reporter reveals that one message; the admins' answer comes back.
  auto id = users_["lou"]->report_to_admins(conv, *seq, "harcèlement");
  ASSERT_TRUE(id.ok()) << id.error().message;
  int status = -1;
  const std::string listed = run_admin(data(), {"report", "list"}, &status);
  ASSERT_EQ(status, 0);
  EXPECT_NE(listed.find("un message déplacé"), std::string::npos);
  run_admin(data(), {"report", "answer", std::to_string(*id), "Nous avons suspendu le compte."},
            &status);
  ASSERT_EQ(status, 0);
  EXPECT_TRUE(until([&] { return has_event("lou", Event::Kind::kAdminAnswer); }));
}

TEST_F(GroupsTest, AnInstanceAdminHasNoPowerInsideAGroup) {
  user("camille");
  user("sam");
  user("admin_asso");
  int status = -1;
  run_admin(data(), {"account", "set-admin", "admin_asso", "on"}, &status);
  ASSERT_EQ(status, 0);
  const std::string conv = group("camille", {"sam"});
  EXPECT_EQ(server_code(users_["admin_asso"]->request_join(conv)), v1::FORBIDDEN);
  auto seq = users_["sam"]->send_text(conv, "entre nous");
  ASSERT_TRUE(seq.ok());
  // Its device, speaking the protocol directly, can neither read nor change the group.
  auto ws = raw_device("admin_asso");
  ASSERT_TRUE(ws);
  const std::string id = raw_conv(conv);
  v1::ClientFrame get, fetch, erase, invite;
  get.mutable_get_conversation()->set_conversation_id(id);
  fetch.mutable_fetch_log()->set_conversation_id(id);
  erase.mutable_delete_entry()->set_conversation_id(id);
  erase.mutable_delete_entry()->set_seq(*seq);
  for (const auto& f : {get, fetch, erase}) {
    auto r = ws->call(f);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error().code(), v1::FORBIDDEN) << f.DebugString();
  }
  EXPECT_TRUE(ws->nothing_before_round_trip())
      << "the admin's device was sent an entry of the group";
  EXPECT_TRUE(until([&] { return sees("camille", conv, "entre nous"); }));
}

// An invitee who says no (before accepting, or after: a change of mind) is shown to the group, the
// invitation leaves their list and cannot be accepted again, and the inviter's client never uses it
// on its own, even once the objection delay has passed.
TEST_F(GroupsTest, ADeclinedInvitationIsShownToTheGroupAndNeverUsed) {
  user("camille");
  user("sam");
  user("lou");
  user("dr_martin", /*professional=*/true);
  const std::string conv = group("camille", {"sam"});
  client::GroupRules rules = *users_["camille"]->rules(conv);
  rules.objection_hours = 24;
  ASSERT_TRUE(users_["camille"]->set_rules(conv, rules).ok());
  auto lou = users_["camille"]->invite(conv, "lou");
  auto martin = users_["camille"]->invite(conv, "dr_martin");
  ASSERT_TRUE(lou.ok() && martin.ok());
  ASSERT_TRUE(users_["lou"]->decline_invitation(*lou).ok());
  ASSERT_TRUE(users_["dr_martin"]->accept_invitation(*martin).ok());
  ASSERT_TRUE(users_["dr_martin"]->decline_invitation(*martin).ok());
  const auto declined = [&](const std::string& name, const std::string& invitee) {
    for (const auto& e : seen_[name]) {
      if (e.kind == Event::Kind::kInvitationDeclined && e.invitation.invitee == invitee &&
          e.conversation == conv) {
        return true;
      }
    }
    return false;
  };
  for (const std::string name : {"camille", "sam"}) {
    EXPECT_TRUE(until([&] { return declined(name, "lou") && declined(name, "dr_martin"); }))
        << name;
  }
  EXPECT_TRUE(users_["lou"]->invitations()->empty());
  EXPECT_TRUE(users_["dr_martin"]->invitations()->empty());
  EXPECT_EQ(server_code(users_["lou"]->accept_invitation(*lou)), v1::INVALID_ARGUMENT);

  // A day later dr_martin's acceptance would let camille's client add them: it does not.
  int status = -1;
  run_admin(data(), {"clock", "advance", "25"}, &status);
  ASSERT_EQ(status, 0);
  const uint64_t epoch = *users_["camille"]->epoch(conv);
  seen_.clear();
  ASSERT_TRUE(users_["sam"]->send_text(conv, "un jour plus tard").ok());
  ASSERT_TRUE(until([&] { return sees("camille", conv, "un jour plus tard"); }));
  ASSERT_NO_FATAL_FAILURE(settled("camille"));
  EXPECT_FALSE(has_event("camille", Event::Kind::kWarning));
  EXPECT_EQ(*users_["camille"]->epoch(conv), epoch);
  EXPECT_FALSE(member_of("dr_martin", conv));
}

}  // namespace
}  // namespace cercle::testing

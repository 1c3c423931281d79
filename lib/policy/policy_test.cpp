#include "cercle/policy/policy.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace cercle::policy {
namespace {

struct Key {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  Key() { crypto_sign_keypair(pk, sk); }
  std::string public_key() const {
    return std::string(reinterpret_cast<const char*>(pk), sizeof pk);
  }
};

// The refusal's code, or UNSPECIFIED for an accepted commit.
v1::PolicyRefusal code_of(const Verdict& v) {
  return v.ok() ? v1::POLICY_REFUSAL_UNSPECIFIED : v.error().code;
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group_.conversation_id = "conversation-id!";
    v1::GroupPolicy p = initial_policy("anna");  // Anna facilitates.
    group_.policy = p;
    group_.members = {{"anna", 0, Kind::kPeer, anna_.public_key()},
                      {"ben", 1, Kind::kPeer, ben_.public_key()}};
  }

  v1::SignedInvitation invite(const Key& by, std::string inviter, std::string invitee,
                              v1::InviteeType type, int64_t expires = kNow + 3'600'000,
                              std::string nonce = "nonce-1") {
    v1::Invitation i;
    i.set_conversation_id(group_.conversation_id);
    i.set_inviter(inviter);
    i.set_invitee(invitee);
    i.set_invitee_type(type);
    i.set_expires_at_ms(expires);
    i.set_nonce(nonce);
    return sign_invitation(i, by.sk);
  }

  Change adding(uint32_t by, std::string handle, Kind kind) {
    Change c;
    c.committer_leaf = by;
    c.added.push_back({handle, kind});
    return c;
  }

  static constexpr int64_t kNow = 1'800'000'000'000;
  Key anna_, ben_;
  Group group_;
};

TEST_F(PolicyTest, OnlyFacilitatorsAddAndRemoveOthers) {
  EXPECT_TRUE(check_commit(group_, adding(0, "carla", Kind::kPeer), kNow).ok());
  EXPECT_EQ(code_of(check_commit(group_, adding(1, "carla", Kind::kPeer), kNow)),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS);
  Change remove;
  remove.committer_leaf = 1;
  remove.removed.push_back({0, false});
  EXPECT_EQ(code_of(check_commit(group_, remove, kNow)),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_REMOVES);
  remove.removed = {{1, true}};  // Ben leaving: anyone may commit it.
  EXPECT_TRUE(check_commit(group_, remove, kNow).ok());
}

TEST_F(PolicyTest, AProfessionalNeedsAValidInvitationFromAFacilitator) {
  EXPECT_EQ(code_of(check_commit(group_, adding(0, "dr-x", Kind::kProfessional), kNow)),
            v1::POLICY_REFUSAL_PROFESSIONAL_WITHOUT_INVITATION);
  Change c = adding(0, "dr-x", Kind::kProfessional);
  *c.data.add_invitations() = invite(anna_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  auto ok = check_commit(group_, c, kNow);
  ASSERT_TRUE(ok.ok()) << describe(ok.error());
  EXPECT_EQ(ok->used_nonces, std::vector<std::string>{"nonce-1"});

  // Each way to get it wrong.
  struct Bad {
    v1::SignedInvitation invitation;
    v1::PolicyRefusal code;
  } cases[] = {
      {invite(ben_, "ben", "dr-x", v1::INVITEE_PROFESSIONAL),
       v1::POLICY_REFUSAL_INVITATION_NOT_FROM_FACILITATOR},
      {invite(ben_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL),
       v1::POLICY_REFUSAL_INVITATION_SIGNATURE},  // Forged.
      {invite(anna_, "anna", "dr-y", v1::INVITEE_PROFESSIONAL),
       v1::POLICY_REFUSAL_PROFESSIONAL_WITHOUT_INVITATION},  // Not for dr-x.
      {invite(anna_, "anna", "dr-x", v1::INVITEE_PEER),
       v1::POLICY_REFUSAL_PROFESSIONAL_INVITED_AS_PEER},
      {invite(anna_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL, kNow - 1),
       v1::POLICY_REFUSAL_INVITATION_EXPIRED},
  };
  for (const auto& bad : cases) {
    Change b = adding(0, "dr-x", Kind::kProfessional);
    *b.data.add_invitations() = bad.invitation;
    EXPECT_EQ(code_of(check_commit(group_, b, kNow)), bad.code) << v1::PolicyRefusal_Name(bad.code);
  }
  group_.used_invitations.insert("nonce-1");
  EXPECT_EQ(code_of(check_commit(group_, c, kNow)), v1::POLICY_REFUSAL_INVITATION_USED);
  group_.used_invitations.clear();
  group_.revoked_invitations.insert("nonce-1");
  EXPECT_EQ(code_of(check_commit(group_, c, kNow)), v1::POLICY_REFUSAL_INVITATION_REVOKED);
  // A member cannot add the professional even with the invitation.
  Change by_ben = adding(1, "dr-x", Kind::kProfessional);
  *by_ben.data.add_invitations() = invite(anna_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  group_.revoked_invitations.clear();
  EXPECT_EQ(code_of(check_commit(group_, by_ben, kNow)),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS_INVITED);
}

TEST_F(PolicyTest, OpenGroupsLetMembersAddPeersButNeverProfessionals) {
  group_.policy->set_join_rule(v1::OPEN_TO_PEERS);
  EXPECT_TRUE(check_commit(group_, adding(1, "carla", Kind::kPeer), kNow).ok());
  EXPECT_EQ(code_of(check_commit(group_, adding(1, "dr-x", Kind::kProfessional), kNow)),
            v1::POLICY_REFUSAL_PROFESSIONAL_WITHOUT_INVITATION);
  EXPECT_EQ(code_of(check_commit(group_, adding(0, "dr-x", Kind::kProfessional), kNow)),
            v1::POLICY_REFUSAL_PROFESSIONAL_WITHOUT_INVITATION);
}

TEST_F(PolicyTest, BannedAccountsDoNotComeBack) {
  group_.policy->add_banned("carla");
  const auto banned = check_commit(group_, adding(0, "carla", Kind::kPeer), kNow);
  EXPECT_EQ(code_of(banned), v1::POLICY_REFUSAL_BANNED);
  EXPECT_EQ(banned.error().who, "carla");
  // Banning in the same commit that would re-add is refused too.
  group_.policy->clear_banned();
  Change c = adding(0, "carla", Kind::kPeer);
  c.new_policy = *group_.policy;
  c.new_policy->add_banned("carla");
  EXPECT_EQ(code_of(check_commit(group_, c, kNow)), v1::POLICY_REFUSAL_BANNED);
}

TEST_F(PolicyTest, OnlyFacilitatorsChangeTheRulesAndSomeoneKeepsLeading) {
  Change c;
  c.committer_leaf = 1;
  c.new_policy = *group_.policy;
  c.new_policy->add_muted("anna");
  EXPECT_EQ(code_of(check_commit(group_, c, kNow)),
            v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES);
  c.committer_leaf = 0;
  EXPECT_TRUE(check_commit(group_, c, kNow).ok());
  c.new_policy->clear_roles();  // Nobody left to facilitate.
  EXPECT_EQ(code_of(check_commit(group_, c, kNow)), v1::POLICY_REFUSAL_NO_FACILITATOR_LEFT);
  // Sharing the role: ben becomes a facilitator too.
  c.new_policy = *group_.policy;
  auto* grant = c.new_policy->add_roles();
  grant->set_handle("ben");
  grant->set_role(v1::FACILITATOR);
  EXPECT_TRUE(check_commit(group_, c, kNow).ok());
}

TEST_F(PolicyTest, AFacilitatorWithSeveralDevicesIsOneFacilitator) {
  Key anna_phone;
  group_.members.push_back({"anna", 2, Kind::kPeer, anna_phone.public_key()});
  // An invitation signed on Anna's second device verifies against that device's leaf.
  Change c = adding(2, "dr-x", Kind::kProfessional);
  *c.data.add_invitations() = invite(anna_phone, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  auto v = check_commit(group_, c, kNow);
  EXPECT_TRUE(v.ok()) << describe(v.error());
  // A key that is none of Anna's leaves still fails.
  Key stranger;
  Change forged = adding(2, "dr-x", Kind::kProfessional);
  *forged.data.add_invitations() = invite(stranger, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  EXPECT_EQ(code_of(check_commit(group_, forged, kNow)), v1::POLICY_REFUSAL_INVITATION_SIGNATURE);

  // Removing one of Anna's devices leaves her facilitating; removing both leaves nobody.
  Change drop_one;
  drop_one.committer_leaf = 2;
  drop_one.removed = {{0, false}};
  drop_one.new_policy = *group_.policy;
  drop_one.new_policy->add_muted("ben");
  EXPECT_EQ(code_of(check_commit(group_, drop_one, kNow)), v1::POLICY_REFUSAL_UNSPECIFIED);
  Change drop_all = drop_one;
  drop_all.removed = {{0, false}, {2, true}};
  EXPECT_EQ(code_of(check_commit(group_, drop_all, kNow)), v1::POLICY_REFUSAL_NO_FACILITATOR_LEFT);
}

TEST_F(PolicyTest, ANewGroupsFirstCommitSetsItsRules) {
  Group fresh;
  fresh.conversation_id = group_.conversation_id;
  fresh.members = {{"anna", 0, Kind::kPeer, anna_.public_key()}};
  Change c = adding(0, "ben", Kind::kPeer);
  EXPECT_EQ(code_of(check_commit(fresh, c, kNow)), v1::POLICY_REFUSAL_FIRST_COMMIT_SETS_RULES);
  c.new_policy = initial_policy("anna");
  EXPECT_TRUE(check_commit(fresh, c, kNow).ok());
}

}  // namespace
}  // namespace cercle::policy

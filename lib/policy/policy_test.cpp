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
  auto by_member = check_commit(group_, adding(1, "carla", Kind::kPeer), kNow);
  EXPECT_NE(by_member.refusal.find("only a facilitator"), std::string::npos);
  Change remove;
  remove.committer_leaf = 1;
  remove.removed.push_back({0, false});
  EXPECT_FALSE(check_commit(group_, remove, kNow).ok());
  remove.removed = {{1, true}};  // Ben leaving: anyone may commit it.
  EXPECT_TRUE(check_commit(group_, remove, kNow).ok());
}

TEST_F(PolicyTest, AProfessionalNeedsAValidInvitationFromAFacilitator) {
  EXPECT_NE(
      check_commit(group_, adding(0, "dr-x", Kind::kProfessional), kNow).refusal.find("invitation"),
      std::string::npos);
  Change c = adding(0, "dr-x", Kind::kProfessional);
  *c.data.add_invitations() = invite(anna_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  auto ok = check_commit(group_, c, kNow);
  ASSERT_TRUE(ok.ok()) << ok.refusal;
  EXPECT_EQ(ok.used_nonces, std::vector<std::string>{"nonce-1"});

  // Each way to get it wrong.
  struct Bad {
    v1::SignedInvitation invitation;
    const char* words;
  } cases[] = {
      {invite(ben_, "ben", "dr-x", v1::INVITEE_PROFESSIONAL), "not made by a facilitator"},
      {invite(ben_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL), "signature"},  // Forged.
      {invite(anna_, "anna", "dr-y", v1::INVITEE_PROFESSIONAL),
       "only by invitation"},  // Not for dr-x.
      {invite(anna_, "anna", "dr-x", v1::INVITEE_PEER), "invited as a peer"},
      {invite(anna_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL, kNow - 1), "expired"},
  };
  for (const auto& bad : cases) {
    Change b = adding(0, "dr-x", Kind::kProfessional);
    *b.data.add_invitations() = bad.invitation;
    auto v = check_commit(group_, b, kNow);
    EXPECT_NE(v.refusal.find(bad.words), std::string::npos) << bad.words << ": " << v.refusal;
  }
  group_.used_invitations.insert("nonce-1");
  EXPECT_NE(check_commit(group_, c, kNow).refusal.find("already used"), std::string::npos);
  group_.used_invitations.clear();
  group_.revoked_invitations.insert("nonce-1");
  EXPECT_NE(check_commit(group_, c, kNow).refusal.find("revoked"), std::string::npos);
  // A member cannot add the professional even with the invitation.
  Change by_ben = adding(1, "dr-x", Kind::kProfessional);
  *by_ben.data.add_invitations() = invite(anna_, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  group_.revoked_invitations.clear();
  EXPECT_FALSE(check_commit(group_, by_ben, kNow).ok());
}

TEST_F(PolicyTest, OpenGroupsLetMembersAddPeersButNeverProfessionals) {
  group_.policy->set_join_rule(v1::OPEN_TO_PEERS);
  EXPECT_TRUE(check_commit(group_, adding(1, "carla", Kind::kPeer), kNow).ok());
  EXPECT_FALSE(check_commit(group_, adding(1, "dr-x", Kind::kProfessional), kNow).ok());
  EXPECT_FALSE(check_commit(group_, adding(0, "dr-x", Kind::kProfessional), kNow).ok());
}

TEST_F(PolicyTest, BannedAccountsDoNotComeBack) {
  group_.policy->add_banned("carla");
  EXPECT_NE(check_commit(group_, adding(0, "carla", Kind::kPeer), kNow).refusal.find("banned"),
            std::string::npos);
  // Banning in the same commit that would re-add is refused too.
  group_.policy->clear_banned();
  Change c = adding(0, "carla", Kind::kPeer);
  c.new_policy = *group_.policy;
  c.new_policy->add_banned("carla");
  EXPECT_FALSE(check_commit(group_, c, kNow).ok());
}

TEST_F(PolicyTest, OnlyFacilitatorsChangeTheRulesAndSomeoneKeepsLeading) {
  Change c;
  c.committer_leaf = 1;
  c.new_policy = *group_.policy;
  c.new_policy->add_muted("anna");
  EXPECT_NE(check_commit(group_, c, kNow).refusal.find("only a facilitator changes"),
            std::string::npos);
  c.committer_leaf = 0;
  EXPECT_TRUE(check_commit(group_, c, kNow).ok());
  c.new_policy->clear_roles();  // Nobody left to facilitate.
  EXPECT_NE(check_commit(group_, c, kNow).refusal.find("no facilitator"), std::string::npos);
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
  EXPECT_TRUE(v.ok()) << v.refusal;
  // A key that is none of Anna's leaves still fails.
  Key stranger;
  Change forged = adding(2, "dr-x", Kind::kProfessional);
  *forged.data.add_invitations() = invite(stranger, "anna", "dr-x", v1::INVITEE_PROFESSIONAL);
  EXPECT_NE(check_commit(group_, forged, kNow).refusal.find("signature"), std::string::npos);

  // Removing one of Anna's devices leaves her facilitating; removing both leaves nobody.
  Change drop_one;
  drop_one.committer_leaf = 2;
  drop_one.removed = {{0, false}};
  drop_one.new_policy = *group_.policy;
  drop_one.new_policy->add_muted("ben");
  v = check_commit(group_, drop_one, kNow);
  EXPECT_TRUE(v.ok()) << v.refusal;
  Change drop_all = drop_one;
  drop_all.removed = {{0, false}, {2, true}};
  EXPECT_NE(check_commit(group_, drop_all, kNow).refusal.find("no facilitator"), std::string::npos);
}

TEST_F(PolicyTest, ANewGroupsFirstCommitSetsItsRules) {
  Group fresh;
  fresh.conversation_id = group_.conversation_id;
  fresh.members = {{"anna", 0, Kind::kPeer, anna_.public_key()}};
  Change c = adding(0, "ben", Kind::kPeer);
  EXPECT_NE(check_commit(fresh, c, kNow).refusal.find("first commit"), std::string::npos);
  c.new_policy = initial_policy("anna");
  EXPECT_TRUE(check_commit(fresh, c, kNow).ok());
}

}  // namespace
}  // namespace cercle::policy

// Groups on the domain alone, when an account is deleted (account_deletion.cpp): what the groups
// held for it and for nobody else (its pending invitations, its join requests) is forgotten.
#include <algorithm>

#include "server/domain/groups_fixture.h"

namespace cercle::domain {
namespace {

// carol was invited and asked to join, dave asked to join: once their accounts are deleted the
// group holds neither invitation nor request of theirs, after a restart too; erin's stay.
TEST_F(GroupsTest, ADeletedAccountsInvitationsAndJoinRequestsAreForgotten) {
  Device alice, bob, carol, dave, erin;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  ASSERT_TRUE(register_device(carol, "carol").ok());
  ASSERT_TRUE(register_device(dave, "dave").ok());
  ASSERT_TRUE(register_device(erin, "erin").ok());
  ConvView conv = group(alice, {&bob});
  v1::GroupPolicy open = policy::initial_policy("alice");
  open.set_join_rule(v1::OPEN_TO_PEERS);
  open.set_charter("Bienveillance");
  ASSERT_TRUE(submit(alice, conv, open.SerializeAsString(), {}, {}).ok());
  const auto to_carol = invitation(conv, alice, carol, v1::INVITEE_PEER);
  const auto to_erin = invitation(conv, alice, erin, v1::INVITEE_PEER);
  ASSERT_TRUE(create(alice, policy::sign_invitation(to_carol, alice.sk)).ok());
  ASSERT_TRUE(create(alice, policy::sign_invitation(to_erin, alice.sk)).ok());
  ASSERT_TRUE(accept(carol, conv, to_carol).ok());
  for (Device* d : {&carol, &dave, &erin}) {
    ASSERT_TRUE(await<Ok>([&](auto cb) {
                  domain_->groups().request_join(d->info.device_id, conv.id, cb);
                }).ok());
  }
  const ConvState* held = domain_->conversations().conversation(conv.id);
  ASSERT_TRUE(held);
  ASSERT_EQ(held->join_requests.size(), 3u);
  ASSERT_TRUE(held->invitations.contains(to_carol.nonce()));

  for (Device* d : {&carol, &dave}) {
    const DeviceId id = d->info.device_id;
    const std::string handle = d->info.handle;
    ASSERT_TRUE(await<std::vector<DeviceId>>([&](auto cb) {
                  domain_->delete_account(id, handle, cb);
                }).ok());
  }
  for (bool restarted : {false, true}) {
    if (restarted) restart();
    held = domain_->conversations().conversation(conv.id);
    ASSERT_TRUE(held);
    EXPECT_EQ(held->join_requests, std::set<AccountId>{erin.info.account_id}) << restarted;
    EXPECT_FALSE(held->invitations.contains(to_carol.nonce())) << restarted;
    EXPECT_TRUE(held->invitations.contains(to_erin.nonce())) << restarted;
  }
  EXPECT_EQ(domain_->groups().invitations_for(erin.info.device_id).size(), 1u);
}

}  // namespace
}  // namespace cercle::domain

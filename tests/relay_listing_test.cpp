// The public listing of groups open to peers, against the real relay over the raw protocol: a
// facilitator publishes the group's name and description (signed with its leaf key), every peer of
// the instance reads them in ListOpenGroups, the group sees what was made public (GroupEvent
// published); who may publish, on which group, what is refused, and when the listing goes
// (withdrawn, or dropped by the commit that closes the group, also across a restart). Professionals
// see none.
#include <gtest/gtest.h>

#include "proto/policy.pb.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayListingTest : public RelayFixture {
 protected:
  // Alice facilitates; bob is a plain member; noa a peer outside; dr_martin a professional.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server());
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice_));
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob_));
    ASSERT_NO_FATAL_FAILURE(register_device("noa", &noa_));
    ASSERT_NO_FATAL_FAILURE(register_device("dr_martin", &pro_));
    int status = -1;
    run_admin(data_dir(), {"account", "set-type", "dr_martin", "professional"}, &status);
    ASSERT_EQ(status, 0);
    ASSERT_NO_FATAL_FAILURE(create_group(alice_, &conv_));
    ASSERT_NO_FATAL_FAILURE(upload_key_packages(bob_));
    BuiltCommit first;
    first.mls = alice_.mls->commit(conv_, {bob_.spare_key_packages.front()}, {},
                                   facilitating_policy(std::nullopt, alice_.handle, {}));
    bob_.spare_key_packages.clear();
    first.frame = commit_frame(conv_, 0, first.mls, {bob_.device_id});
    auto r = alice_.ws->call(first.frame);
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    accepted(alice_, conv_, first);
    auto w = bob_.ws->next_delivery();
    ASSERT_TRUE(w && w->kind() == v1::WELCOME);
    ASSERT_NO_FATAL_FAILURE(join(bob_, conv_, w->payload()));
    epoch_ = 1;
  }

  // Alice commits the group's join rule; bob reads the commit.
  void set_join_rule(v1::JoinRule rule) {
    v1::GroupPolicy policy;
    ASSERT_TRUE(policy.ParseFromString(alice_.mls->policy(conv_).value_or("")));
    policy.set_join_rule(rule);
    policy.set_charter("Bienveillance");
    BuiltCommit c;
    c.mls = alice_.mls->commit(conv_, {}, {}, policy.SerializeAsString());
    auto r = alice_.ws->call(commit_frame(conv_, epoch_, c.mls.message));
    ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
    accepted(alice_, conv_, c);
    ++epoch_;
    if (!bob_.ws) return;  // Offline since a restart.
    auto d = bob_.ws->next_delivery();
    ASSERT_TRUE(d && d->kind() == v1::COMMIT);
  }

  // `by`'s listing of the group, signed with its device key (its MLS leaf key) over the label.
  v1::SignedPublicListing listing(const TestDevice& by, const std::string& name,
                                  const std::string& description) const {
    v1::PublicListing l;
    l.set_conversation_id(conv_);
    l.set_name(name);
    l.set_description(description);
    v1::SignedPublicListing s;
    s.set_listing(l.SerializeAsString());
    s.set_signer(by.handle);
    s.set_signature(by.key.sign(std::string("cercle-listing-v1") + '\0' + s.listing()));
    return s;
  }

  // PublishGroup from `by`: ERROR_CODE_UNSPECIFIED when done, else the refusal's code.
  v1::ErrorCode publish(TestDevice& by, const v1::SignedPublicListing& s) {
    v1::ClientFrame f;
    f.mutable_publish_group()->set_conversation_id(conv_);
    f.mutable_publish_group()->set_listing(s.SerializeAsString());
    auto r = by.ws->call(f);
    EXPECT_TRUE(r) << "timeout";
    if (!r) return v1::INTERNAL;
    return r->has_done() ? v1::ERROR_CODE_UNSPECIFIED : r->error().code();
  }

  // What `d` reads of the group in ListOpenGroups: "name|description|charter", or "" if unlisted.
  std::string listed(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_list_open_groups();
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_open_groups());
    if (!r) return "(no answer)";
    for (const auto& g : r->open_groups().groups()) {
      if (g.conversation_id() == conv_) {
        return g.public_name() + "|" + g.public_description() + "|" + g.charter();
      }
    }
    return "";
  }

  // The group event bob is delivered next.
  v1::GroupEvent next_event() {
    v1::GroupEvent event;
    auto d = bob_.ws->next_delivery();
    EXPECT_TRUE(d && d->kind() == v1::EVENT && event.ParseFromString(d->payload()));
    return event;
  }

  // Stops the relay (SIGTERM) and starts it again on the same data; alice and noa reconnect (bob
  // stays offline: he would be delivered the group's log again).
  void restart() {
    for (TestDevice* d : devices_) d->ws.reset();
    ASSERT_EQ(server_->terminate(), 0);
    ASSERT_NO_FATAL_FAILURE(restart_server());
    ASSERT_NO_FATAL_FAILURE(reconnect(&alice_));
    ASSERT_NO_FATAL_FAILURE(reconnect(&noa_));
  }

  TestDevice alice_, bob_, noa_, pro_;
  std::string conv_;
  uint64_t epoch_ = 0;
};

TEST_F(RelayListingTest, AFacilitatorsListingIsReadByEveryPeerAndShownToTheGroup) {
  ASSERT_NO_FATAL_FAILURE(set_join_rule(v1::OPEN_TO_PEERS));
  EXPECT_EQ(listed(noa_), "||Bienveillance");  // Listed with its charter, unnamed.
  const auto published = listing(alice_, "Deuil", "Le jeudi soir, entre pairs.");
  ASSERT_EQ(publish(alice_, published), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(listed(noa_), "Deuil|Le jeudi soir, entre pairs.|Bienveillance");
  const v1::GroupEvent event = next_event();
  EXPECT_EQ(event.published().SerializeAsString(), published.SerializeAsString());
  EXPECT_EQ(event.by(), "alice");
  EXPECT_EQ(listed(pro_), "");  // Professionals see no open group at all.

  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(listed(noa_), "Deuil|Le jeudi soir, entre pairs.|Bienveillance");
}

TEST_F(RelayListingTest, OnlyAFacilitatorPublishesASignedListingOfAGroupOpenToPeers) {
  EXPECT_EQ(publish(alice_, listing(alice_, "Deuil", "")), v1::INVALID_ARGUMENT);  // Invite-only.
  ASSERT_NO_FATAL_FAILURE(set_join_rule(v1::OPEN_TO_PEERS));
  EXPECT_EQ(publish(bob_, listing(bob_, "Deuil", "")), v1::FORBIDDEN);  // A plain member.
  EXPECT_EQ(publish(noa_, listing(noa_, "Deuil", "")), v1::FORBIDDEN);  // Not a member.
  auto in_bobs_name = listing(alice_, "Deuil", "");
  in_bobs_name.set_signer("bob");
  EXPECT_EQ(publish(alice_, in_bobs_name), v1::FORBIDDEN);
  auto signed_by_bob = listing(bob_, "Deuil", "");
  signed_by_bob.set_signer("alice");
  EXPECT_EQ(publish(alice_, signed_by_bob), v1::INVALID_ARGUMENT);
  auto tampered = listing(alice_, "Deuil", "");
  tampered.mutable_listing()->back() ^= 1;
  EXPECT_EQ(publish(alice_, tampered), v1::INVALID_ARGUMENT);
  EXPECT_EQ(publish(alice_, listing(alice_, std::string(81, 'n'), "")), v1::INVALID_ARGUMENT);
  EXPECT_EQ(publish(alice_, listing(alice_, "Deuil", std::string(1001, 'd'))),
            v1::INVALID_ARGUMENT);
  // Nothing was made public, and the group was shown nothing.
  EXPECT_EQ(listed(noa_), "||Bienveillance");
  EXPECT_TRUE(bob_.ws->nothing_before_round_trip());
  // At the limits: 80 bytes of name, 1000 of description.
  ASSERT_EQ(publish(alice_, listing(alice_, std::string(80, 'n'), std::string(1000, 'd'))),
            v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(listed(noa_), std::string(80, 'n') + "|" + std::string(1000, 'd') + "|Bienveillance");
}

TEST_F(RelayListingTest, AListingIsWithdrawnOrDroppedWhenTheGroupClosesAlsoAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(set_join_rule(v1::OPEN_TO_PEERS));
  ASSERT_EQ(publish(alice_, listing(alice_, "Deuil", "Le jeudi")), v1::ERROR_CODE_UNSPECIFIED);
  next_event();
  ASSERT_EQ(publish(alice_, v1::SignedPublicListing{}), v1::ERROR_CODE_UNSPECIFIED);  // Withdrawn.
  const v1::GroupEvent withdrawn = next_event();
  EXPECT_TRUE(withdrawn.has_published() && withdrawn.published().listing().empty());
  EXPECT_EQ(withdrawn.by(), "alice");
  EXPECT_EQ(listed(noa_), "||Bienveillance");

  ASSERT_EQ(publish(alice_, listing(alice_, "Deuil", "Le jeudi")), v1::ERROR_CODE_UNSPECIFIED);
  next_event();
  ASSERT_NO_FATAL_FAILURE(set_join_rule(v1::INVITE_ONLY));
  EXPECT_EQ(listed(noa_), "");
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(listed(noa_), "");
  ASSERT_NO_FATAL_FAILURE(set_join_rule(v1::OPEN_TO_PEERS));  // Open again: listed, unnamed.
  EXPECT_EQ(listed(noa_), "||Bienveillance");
}

}  // namespace
}  // namespace cercle::testing

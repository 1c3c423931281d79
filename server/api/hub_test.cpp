// Hub through its interface, with real sessions over fake transports (api_fixture.h): sessions
// register when they authenticate and leave when they close; a durable entry is encoded once and
// handed to every connected session of its recipients (never the sender's); events, disconnection
// and KeyPackagesLow reach exactly the devices named; rate limits refuse with the time to wait.
#include "server/api/hub.h"

#include <gtest/gtest.h>

#include "server/api/api_fixture.h"

namespace cercle::api {
namespace {

class HubTest : public ApiTest {
 protected:
  // alice, bob and carol in a group at epoch 1; dave registered, outside it.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ApiTest::SetUp());
    ASSERT_TRUE(register_device(alice_, "alice").ok());
    ASSERT_TRUE(register_device(bob_, "bob").ok());
    ASSERT_TRUE(register_device(carol_, "carol").ok());
    ASSERT_TRUE(register_device(dave_, "dave").ok());
    conv_ = create_group(alice_).id;
    auto added = commit(alice_, conv_, 0, {&bob_, &carol_});
    ASSERT_TRUE(added.ok()) << added.error().message;
  }

  // alice's application message `text`, durable; returns its sequence number.
  uint64_t alice_says(const std::string& text) {
    auto r = send(alice_, conv_, 1, message(alice_, conv_, text));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->seq : 0;
  }

  domain::Device alice_, bob_, carol_, dave_;
  ConvId conv_;
};

TEST_F(HubTest, AnEntryIsEncodedOnceForEveryConnectedSessionOfItsRecipientsButTheSenders) {
  Conn& alice = sign_in(alice_);
  Conn& bob1 = sign_in(bob_);
  Conn& bob2 = sign_in(bob_);
  Conn& carol = sign_in(carol_);
  Conn& dave = sign_in(dave_);
  EXPECT_EQ(hub_.online_sessions(), 5u);
  const uint64_t before = hub_.stats().deliveries;

  const uint64_t seq = alice_says("bonjour");
  ASSERT_EQ(bob1.transport.sent.size(), 1u);
  const SharedFrame& shared = bob1.transport.sent[0].frame;
  for (Conn* c : {&bob1, &bob2, &carol}) {
    ASSERT_EQ(c->transport.sent.size(), 1u);
    EXPECT_EQ(c->transport.sent[0].kind, FrameKind::kDelivery);
    EXPECT_EQ(c->transport.sent[0].frame.get(), shared.get()) << "encoded more than once";
  }
  EXPECT_TRUE(alice.transport.sent.empty()) << "the sender got its own entry";
  EXPECT_TRUE(dave.transport.sent.empty()) << "a device outside the group got the entry";
  EXPECT_EQ(hub_.stats().deliveries, before + 3);
  const auto frames = carol.transport.take();
  ASSERT_EQ(frames[0].deliveries().deliveries_size(), 1);
  const auto& d = frames[0].deliveries().deliveries(0);
  EXPECT_EQ(d.seq(), seq);
  EXPECT_EQ(d.kind(), v1::APPLICATION);
  EXPECT_EQ(d.sender_device(), alice_.info.device_id);
  EXPECT_EQ(carol_.mls->decrypt(conv_.str(), d.payload()), "bonjour");
}

TEST_F(HubTest, ACommitIsTheWelcomeOfTheDevicesItAddsAndTheCommitOfTheOthers) {
  Conn& bob = sign_in(bob_);
  Conn& carol = sign_in(carol_);
  Conn& dave = sign_in(dave_);
  auto added = commit(alice_, conv_, 1, {&dave_});
  ASSERT_TRUE(added.ok()) << added.error().message;
  ASSERT_EQ(bob.transport.sent.size(), 1u);
  ASSERT_EQ(carol.transport.sent.size(), 1u);
  EXPECT_EQ(bob.transport.sent[0].frame.get(), carol.transport.sent[0].frame.get());
  const auto commit_frame = bob.transport.take();
  EXPECT_EQ(commit_frame[0].deliveries().deliveries(0).kind(), v1::COMMIT);
  EXPECT_EQ(commit_frame[0].deliveries().deliveries(0).seq(), added->seq);
  // dave had no stream of this conversation: his session starts it from storage, the Welcome first.
  const auto welcome = dave.transport.take();
  ASSERT_EQ(welcome.size(), 1u);
  ASSERT_EQ(welcome[0].deliveries().deliveries_size(), 1);
  EXPECT_EQ(welcome[0].deliveries().deliveries(0).kind(), v1::WELCOME);
  EXPECT_EQ(welcome[0].deliveries().deliveries(0).seq(), added->seq);
}

TEST_F(HubTest, ASessionThatClosedGetsNothingAndTheDevicesOtherSessionsStillDo) {
  Conn& bob1 = sign_in(bob_);
  Conn& bob2 = sign_in(bob_);
  EXPECT_EQ(hub_.online_sessions(), 2u);
  bob2.session->on_closed();
  EXPECT_EQ(hub_.online_sessions(), 1u);
  alice_says("encore");
  EXPECT_EQ(bob1.transport.sent.size(), 1u);
  EXPECT_TRUE(bob2.transport.sent.empty());
  bob1.transport.sent.clear();
  bob1.session.reset();  // A destroyed session leaves too.
  EXPECT_EQ(hub_.online_sessions(), 0u);
  alice_says("personne");
  EXPECT_TRUE(bob1.transport.sent.empty());
}

TEST_F(HubTest, AnEventReachesEverySessionOfTheDevicesNamedAndCountsThem) {
  Conn& bob1 = sign_in(bob_);
  Conn& bob2 = sign_in(bob_);
  Conn& carol = sign_in(carol_);
  v1::Event event;
  event.mutable_key_packages_low()->set_stored(3);
  const DeviceId named[] = {bob_.info.device_id, dave_.info.device_id};  // dave is offline.
  EXPECT_EQ(hub_.notify(named, event), 2u);
  for (Conn* c : {&bob1, &bob2}) {
    ASSERT_EQ(c->transport.sent.size(), 1u);
    EXPECT_EQ(c->transport.sent[0].kind, FrameKind::kReply);
  }
  EXPECT_EQ(bob1.transport.sent[0].frame.get(), bob2.transport.sent[0].frame.get());
  EXPECT_TRUE(carol.transport.sent.empty());
  const auto frames = bob1.transport.take();
  EXPECT_EQ(frames[0].event().key_packages_low().stored(), 3u);
  const DeviceId nobody[] = {dave_.info.device_id};
  EXPECT_EQ(hub_.notify(nobody, event), 0u);
}

TEST_F(HubTest, KeyPackagesLowAndDisconnectionConcernOnlyTheDeviceNamed) {
  Conn& bob1 = sign_in(bob_);
  Conn& bob2 = sign_in(bob_);
  Conn& carol = sign_in(carol_);
  hub_.key_packages_low(bob_.info.device_id, 2);
  for (Conn* c : {&bob1, &bob2}) {
    const auto frames = c->transport.take();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].event().key_packages_low().stored(), 2u);
  }
  EXPECT_TRUE(carol.transport.sent.empty());

  hub_.disconnect({bob_.info.device_id});
  for (Conn* c : {&bob1, &bob2}) {
    EXPECT_TRUE(c->transport.closed);
    EXPECT_EQ(c->transport.reason, CloseReason::kPolicy);
  }
  EXPECT_FALSE(carol.transport.closed);
}

TEST_F(HubTest, ALimitRefusesWithTheTimeToWaitAndAnAccountsLimitSparesTheOthers) {
  RateLimits rates;
  rates.messages_per_account = Rate{1, 2};  // 2 at once, then one a second.
  Hub hub(ApiLimits{}, rates, clock_);
  EXPECT_FALSE(hub.limit(Limited::kMessage, "4:7f000001", 1));
  EXPECT_FALSE(hub.limit(Limited::kMessage, "4:7f000001", 1));
  auto refused = hub.limit(Limited::kMessage, "4:7f000001", 1);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, Errc::kRateLimited);
  EXPECT_GT(refused->retry_after_ms, 0u);
  EXPECT_LE(refused->retry_after_ms, 1000u);
  EXPECT_EQ(hub.stats().rate_limited, 1u);
  EXPECT_FALSE(hub.limit(Limited::kMessage, "4:7f000001", 2)) << "another account was limited";
  clock_.advance_ms(1000);
  EXPECT_FALSE(hub.limit(Limited::kMessage, "4:7f000001", 1));
}

}  // namespace
}  // namespace cercle::api

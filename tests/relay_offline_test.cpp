// Offline devices against the real server: catch-up from storage after the cursor, in order, with
// no gap and no duplicate, handing over to live delivery; acknowledgements; a second device.
#include <gtest/gtest.h>

#include <map>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

// A payload of about 4 KiB that names its index, so that catch-up spans several storage slices
// (256 KiB) and the connection's queue goes over its low-water mark (64 KiB).
std::string payload(int i) {
  std::string p = "msg-" + std::to_string(i) + ":";
  p.resize(4096, static_cast<char>('a' + i % 26));
  return p;
}

class RelayOfflineTest : public RelayFixture {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false"})); }

  // Sends payload(first)..payload(first + n - 1) pipelined; returns their sequence numbers.
  void send_burst(TestDevice& d, const std::string& conv, uint64_t epoch, int first, int n,
                  std::vector<uint64_t>* seqs) {
    std::vector<uint64_t> ids;
    for (int i = first; i < first + n; ++i)
      ids.push_back(d.ws->send(send_frame(conv, epoch, numbered(d, conv, i, payload(i)))));
    for (uint64_t id : ids) {
      auto r = d.ws->wait_response(id);
      ASSERT_TRUE(r && r->has_send()) << (r ? r->error().message() : "timeout");
      seqs->push_back(r->send().seq());
    }
  }

  // Expects `got` to be payload(first).. in order with consecutive sequence numbers from `seq`.
  void expect_run(const std::vector<v1::Delivery>& got, int first, uint64_t seq) const {
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].seq(), seq + i) << "gap or duplicate at position " << i;
      ASSERT_EQ(index_of(got[i].payload()), first + static_cast<int>(i));
    }
  }

  static uint64_t ack(TestDevice& d, const std::string& conv, uint64_t seq) {
    auto r = d.ws->call(ack_frame(conv, seq));
    EXPECT_TRUE(r && r->has_ack()) << (r ? r->error().message() : "timeout");
    return r && r->has_ack() ? r->ack().cursor() : 0;
  }

  static uint64_t cursor_of(TestDevice& d, const std::string& conv) {
    v1::ClientFrame f;
    f.mutable_get_conversation()->set_conversation_id(conv);
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_conversation());
    return r && r->has_conversation() ? r->conversation().cursor() : 0;
  }
};

TEST_F(RelayOfflineTest, AnOfflineDeviceCatchesUpEverythingAfterItsCursorThenGoesLive) {
  TestDevice a, b, c;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &c));
  std::string conv;
  uint64_t welcome_seq = 0;
  ASSERT_NO_FATAL_FAILURE(create_group(a, &conv));
  ASSERT_NO_FATAL_FAILURE(add_members(a, conv, 0, {&b, &c}, &welcome_seq));
  EXPECT_EQ(ack(c, conv, welcome_seq), welcome_seq);
  c.ws.reset();

  std::vector<uint64_t> seqs;
  ASSERT_NO_FATAL_FAILURE(send_burst(a, conv, 1, 0, 120, &seqs));
  ASSERT_NO_FATAL_FAILURE(send_burst(b, conv, 1, 120, 30, &seqs));
  EXPECT_EQ(b.ws->deliveries(120).size(), 120u);  // bob keeps up live meanwhile.

  // carol comes back while alice keeps sending: catch-up and live traffic meet.
  ASSERT_NO_FATAL_FAILURE(reconnect(&c));
  ASSERT_NO_FATAL_FAILURE(send_burst(a, conv, 1, 150, 50, &seqs));
  auto got = c.ws->deliveries(200, 10s);
  ASSERT_EQ(got.size(), 200u);
  ASSERT_NO_FATAL_FAILURE(expect_run(got, 0, welcome_seq + 1));
  EXPECT_EQ(got.back().seq(), seqs.back());

  // Live from now on.
  ASSERT_NO_FATAL_FAILURE(send_ok(b, conv, 1, numbered(b, conv, 200, payload(200))));
  auto live = c.ws->next_delivery();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->seq(), seqs.back() + 1);
  EXPECT_EQ(index_of(live->payload()), 200);
  EXPECT_TRUE(c.ws->nothing_before_round_trip()) << "duplicate deliveries";
}

TEST_F(RelayOfflineTest, AcknowledgingAdvancesTheCursorSoReconnectsGetOnlyNewerEntries) {
  TestDevice a, c;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &c));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &c}, &conv));
  std::vector<uint64_t> seqs;
  ASSERT_NO_FATAL_FAILURE(send_burst(a, conv, 1, 0, 10, &seqs));
  auto got = c.ws->deliveries(10);
  ASSERT_EQ(got.size(), 10u);

  // Never backwards, never past the log's head.
  EXPECT_EQ(ack(c, conv, seqs[4]), seqs[4]);
  EXPECT_EQ(ack(c, conv, seqs[1]), seqs[4]);
  EXPECT_EQ(cursor_of(c, conv), seqs[4]);

  // Without an acknowledgement the same entries come again, and only those after the cursor.
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_NO_FATAL_FAILURE(reconnect(&c));
    auto again = c.ws->deliveries(5);
    ASSERT_EQ(again.size(), 5u);
    ASSERT_NO_FATAL_FAILURE(expect_run(again, 5, seqs[5]));
    EXPECT_TRUE(c.ws->nothing_before_round_trip());
  }
  EXPECT_EQ(ack(c, conv, seqs.back() + 1000), seqs.back());

  // The cursor survives a clean restart.
  ASSERT_NO_FATAL_FAILURE(send_burst(a, conv, 1, 10, 3, &seqs));
  a.ws.reset();
  c.ws.reset();
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&c));
  auto after = c.ws->deliveries(3);
  ASSERT_EQ(after.size(), 3u);
  ASSERT_NO_FATAL_FAILURE(expect_run(after, 10, seqs[10]));
  EXPECT_TRUE(c.ws->nothing_before_round_trip());
  EXPECT_EQ(cursor_of(c, conv), seqs[9]);
}

TEST_F(RelayOfflineTest, ASecondDeviceOfTheAccountAlsoReceivesLiveAndAfterBeingOffline) {
  TestDevice alice, alice2, bob;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob}, &conv));
  ASSERT_NO_FATAL_FAILURE(add_device(alice, &alice2));
  auto account = alice2.ws->call([] {
    v1::ClientFrame f;
    f.mutable_lookup_account()->set_handle("alice");
    return f;
  }());
  ASSERT_TRUE(account && account->has_account());
  EXPECT_EQ(account->account().devices_size(), 2);
  // The new device is in no conversation until a member adds it.
  ASSERT_NO_FATAL_FAILURE(send_ok(bob, conv, 1, numbered(bob, conv, 0, payload(0))));
  ASSERT_TRUE(alice.ws->next_delivery());
  EXPECT_TRUE(alice2.ws->nothing_before_round_trip());

  uint64_t welcome_seq = 0;
  ASSERT_NO_FATAL_FAILURE(add_members(alice, conv, 1, {&alice2}, &welcome_seq));
  ASSERT_TRUE(bob.ws->next_delivery());
  EXPECT_EQ(ack(alice2, conv, welcome_seq), welcome_seq);
  // A message from one of alice's devices reaches her other one.
  ASSERT_NO_FATAL_FAILURE(send_ok(alice, conv, 2, numbered(alice, conv, 1, payload(1))));
  auto own = alice2.ws->next_delivery();
  ASSERT_TRUE(own);
  EXPECT_EQ(own->sender_device(), alice.device_id);
  EXPECT_EQ(ack(alice2, conv, own->seq()), own->seq());
  ASSERT_TRUE(bob.ws->next_delivery());

  alice2.ws.reset();
  std::vector<uint64_t> seqs;
  ASSERT_NO_FATAL_FAILURE(send_burst(bob, conv, 2, 2, 110, &seqs));
  auto live = alice.ws->deliveries(110);
  ASSERT_EQ(live.size(), 110u);
  ASSERT_NO_FATAL_FAILURE(expect_run(live, 2, seqs[0]));

  ASSERT_NO_FATAL_FAILURE(reconnect(&alice2));
  auto caught = alice2.ws->deliveries(110);
  ASSERT_EQ(caught.size(), 110u);
  ASSERT_NO_FATAL_FAILURE(expect_run(caught, 2, own->seq() + 1));
  EXPECT_TRUE(alice2.ws->nothing_before_round_trip());
}

}  // namespace
}  // namespace cercle::testing

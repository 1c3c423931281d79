// Slow consumers against the real server: a member that stops reading is disconnected when its send
// queue overflows, the other members keep receiving everything promptly, and the slow member
// catches up from storage, with nothing lost, when it comes back.
#include <gtest/gtest.h>

#include <map>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

constexpr size_t kPayloadBytes = 16 * 1024;
constexpr int kPerRound = 8;

std::string payload(int i) {
  std::string p = "msg-" + std::to_string(i) + ":";
  p.resize(kPayloadBytes, static_cast<char>('a' + i % 26));
  return p;
}

class RelaySlowConsumerTest : public RelayFixture {
 protected:
  // Builds a group of a sender, two fast readers and one reader that stops reading, then sends
  // rounds of messages until the server drops the stalled reader; then brings it back.
  void run(const std::string& limits_toml) {
    // The sender sends as fast as it can: its account's message limit is off here.
    const std::string config = limits_toml + "[rate_limits]\nmessages_per_account_per_second = 0\n";
    ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false", "--config", write_config(config)}));
    TestDevice sender, fast1, fast2, slow;
    ASSERT_NO_FATAL_FAILURE(register_device("sender", &sender));
    ASSERT_NO_FATAL_FAILURE(register_device("fast1", &fast1));
    ASSERT_NO_FATAL_FAILURE(register_device("fast2", &fast2));
    ASSERT_NO_FATAL_FAILURE(register_device("slow", &slow));
    std::string conv;
    uint64_t first_seq = 0;
    ASSERT_NO_FATAL_FAILURE(create_group(sender, &conv));
    ASSERT_NO_FATAL_FAILURE(add_members(sender, conv, 0, {&fast1, &fast2, &slow}, &first_seq));

    // The slow reader's connection: authenticated, then never read again.
    slow.ws = WsClient::connect_small_buffer(server_->port(), 4096);
    ASSERT_TRUE(slow.ws);
    ASSERT_TRUE(slow.ws->hello_and_authenticate(slow.key)) << slow.ws->last_error();
    ASSERT_TRUE(slow.ws->next_delivery()) << "the Welcome, caught up";

    int sent = 0;
    int rounds_after_drop = -1;
    // Its queue fills, then its writes stall; the server drops it after write_stall_s (2 s here).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int round = 0; std::chrono::steady_clock::now() < deadline && rounds_after_drop < 3;
         ++round) {
      // One message at a time: a fast reader's queue never holds more than a message or two.
      for (int i = 0; i < kPerRound; ++i) {
        uint64_t seq = 0;
        ASSERT_NO_FATAL_FAILURE(
            send_ok(sender, conv, 1, numbered(sender, conv, sent, payload(sent)), &seq));
        ASSERT_EQ(seq, first_seq + 1 + sent);
        ++sent;
      }
      for (TestDevice* d : {&fast1, &fast2}) {
        auto got = d->ws->deliveries(kPerRound, 2s);
        ASSERT_EQ(got.size(), size_t{kPerRound}) << d->handle << " stalled in round " << round;
        for (int i = 0; i < kPerRound; ++i) {
          ASSERT_EQ(index_of(got[i].payload()), sent - kPerRound + i);
        }
        ASSERT_FALSE(d->ws->is_closed()) << d->handle << " was dropped";
      }
      if (rounds_after_drop >= 0) {
        ++rounds_after_drop;
      } else if (server_->log().find("conn.too_slow") != std::string::npos) {
        rounds_after_drop = 0;
      } else {
        fast1.ws->drain(20ms);  // Let the stall clock run.
      }
    }
    ASSERT_GE(rounds_after_drop, 0)
        << "the stalled reader was never dropped after " << sent << " messages";
    EXPECT_EQ(server_->log().find("conn.too_slow"), server_->log().rfind("conn.too_slow"))
        << "more than one connection was dropped";
    // Reading what its socket still holds, the stalled reader sees the connection end.
    EXPECT_TRUE(slow.ws->wait_closed(10s));

    // Back, on a normal connection: everything after its cursor (it never acknowledged), in order.
    ASSERT_NO_FATAL_FAILURE(reconnect(&slow));
    auto got = slow.ws->deliveries(1 + sent, 10s);
    ASSERT_FALSE(slow.ws->is_closed()) << "dropped again while catching up\n" << server_->log();
    ASSERT_EQ(got.size(), size_t(1 + sent));
    EXPECT_EQ(got[0].kind(), v1::WELCOME);
    for (int i = 0; i < sent; ++i) {
      ASSERT_EQ(got[1 + i].seq(), first_seq + 1 + i);
      ASSERT_EQ(index_of(got[1 + i].payload()), i);
    }
    // And live again.
    ASSERT_NO_FATAL_FAILURE(send_ok(sender, conv, 1, numbered(sender, conv, sent, payload(sent))));
    auto live = slow.ws->next_delivery();
    ASSERT_TRUE(live);
    EXPECT_EQ(index_of(live->payload()), sent);
  }
};

TEST_F(RelaySlowConsumerTest, AStalledReaderIsDroppedOthersKeepUpAndItCatchesUpLater) {
  // The default queue (1 MiB) plus what the kernel buffers: a few MiB until writes stall.
  ASSERT_NO_FATAL_FAILURE(run("[limits]\nwrite_stall_s = 2\n"));
}

TEST_F(RelaySlowConsumerTest, WithTheSmallestSendQueueTheStalledReaderStillCatchesUp) {
  // 64 KiB, the smallest queue the configuration accepts (twice a 32 KiB frame limit).
  ASSERT_NO_FATAL_FAILURE(
      run("[limits]\nsend_queue_bytes = 65536\nmax_frame_bytes = 32768\n"
          "max_payload_bytes = 31744\nwrite_stall_s = 2\n"));
}

}  // namespace
}  // namespace cercle::testing

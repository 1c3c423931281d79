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
    ASSERT_NO_FATAL_FAILURE(start_group(limits_toml));
    ASSERT_NO_FATAL_FAILURE(stall_slow_reader());
    ASSERT_NO_FATAL_FAILURE(send_until_dropped());
    // Reading what its socket still holds, the stalled reader sees the connection end.
    EXPECT_TRUE(slow_.ws->wait_closed(10s));
    ASSERT_NO_FATAL_FAILURE(expect_catch_up());
  }

  // The server with `limits_toml`, and the group: sender, fast1, fast2 and slow (epoch 1).
  void start_group(const std::string& limits_toml) {
    // The sender sends as fast as it can: its account's message limit is off here.
    const std::string config = limits_toml + "[rate_limits]\nmessages_per_account_per_second = 0\n";
    ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false", "--config", write_config(config)}));
    ASSERT_NO_FATAL_FAILURE(register_device("sender", &sender_));
    ASSERT_NO_FATAL_FAILURE(register_device("fast1", &fast1_));
    ASSERT_NO_FATAL_FAILURE(register_device("fast2", &fast2_));
    ASSERT_NO_FATAL_FAILURE(register_device("slow", &slow_));
    ASSERT_NO_FATAL_FAILURE(create_group(sender_, &conv_));
    ASSERT_NO_FATAL_FAILURE(
        add_members(sender_, conv_, 0, {&fast1_, &fast2_, &slow_}, &first_seq_));
  }

  // The slow reader's connection: authenticated, then never read again.
  void stall_slow_reader() {
    slow_.ws = WsClient::connect_small_buffer(server_->port(), 4096);
    ASSERT_TRUE(slow_.ws);
    ASSERT_TRUE(slow_.ws->hello_and_authenticate(slow_.key)) << slow_.ws->last_error();
    ASSERT_TRUE(slow_.ws->next_delivery()) << "the Welcome, caught up";
  }

  // One round: kPerRound messages, one at a time (a fast reader's queue never holds more than a
  // message or two), each read promptly by both fast readers.
  void send_round(int round) {
    for (int i = 0; i < kPerRound; ++i) {
      uint64_t seq = 0;
      ASSERT_NO_FATAL_FAILURE(
          send_ok(sender_, conv_, 1, numbered(sender_, conv_, sent_, payload(sent_)), &seq));
      ASSERT_EQ(seq, first_seq_ + 1 + sent_);
      ++sent_;
    }
    for (TestDevice* d : {&fast1_, &fast2_}) {
      auto got = d->ws->deliveries(kPerRound, 2s);
      ASSERT_EQ(got.size(), size_t{kPerRound}) << d->handle << " stalled in round " << round;
      for (int i = 0; i < kPerRound; ++i) {
        ASSERT_EQ(index_of(got[i].payload()), sent_ - kPerRound + i);
      }
      ASSERT_FALSE(d->ws->is_closed()) << d->handle << " was dropped";
    }
  }

  // The slow reader's queue fills, then its writes stall; the server drops it after write_stall_s
  // (2 s here). Three more rounds follow its drop.
  void send_until_dropped() {
    int rounds_after_drop = -1;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int round = 0; std::chrono::steady_clock::now() < deadline && rounds_after_drop < 3;
         ++round) {
      ASSERT_NO_FATAL_FAILURE(send_round(round));
      if (rounds_after_drop >= 0) {
        ++rounds_after_drop;
      } else if (server_->log().find("conn.too_slow") != std::string::npos) {
        rounds_after_drop = 0;
      } else {
        fast1_.ws->drain(20ms);  // Let the stall clock run.
      }
    }
    ASSERT_GE(rounds_after_drop, 0)
        << "the stalled reader was never dropped after " << sent_ << " messages";
    EXPECT_EQ(server_->log().find("conn.too_slow"), server_->log().rfind("conn.too_slow"))
        << "more than one connection was dropped";
  }

  // Back, on a normal connection: everything after its cursor (it never acknowledged), in order;
  // and live again.
  void expect_catch_up() {
    ASSERT_NO_FATAL_FAILURE(reconnect(&slow_));
    auto got = slow_.ws->deliveries(1 + sent_, 10s);
    ASSERT_FALSE(slow_.ws->is_closed()) << "dropped again while catching up\n" << server_->log();
    ASSERT_EQ(got.size(), size_t(1 + sent_));
    EXPECT_EQ(got[0].kind(), v1::WELCOME);
    for (int i = 0; i < sent_; ++i) {
      ASSERT_EQ(got[1 + i].seq(), first_seq_ + 1 + i);
      ASSERT_EQ(index_of(got[1 + i].payload()), i);
    }
    ASSERT_NO_FATAL_FAILURE(
        send_ok(sender_, conv_, 1, numbered(sender_, conv_, sent_, payload(sent_))));
    auto live = slow_.ws->next_delivery();
    ASSERT_TRUE(live);
    EXPECT_EQ(index_of(live->payload()), sent_);
  }

  TestDevice sender_, fast1_, fast2_, slow_;
  std::string conv_;
  uint64_t first_seq_ = 0;  // The commit that added the readers.
  int sent_ = 0;            // Messages sent so far (numbered 0, 1, ...).
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

#include "server/push/queue.h"

#include <gtest/gtest.h>

namespace cercle::push {
namespace {

using namespace std::chrono_literals;
using Clock = PushQueue::Clock;
using Outcome = PushQueue::Outcome;

Push push(std::string device, std::string topic, std::string payload = "p") {
  Push p;
  p.device = std::move(device);
  p.topic = std::move(topic);
  p.payload = std::move(payload);
  p.ttl = 3600s;
  return p;
}

QueueLimits limits() {
  QueueLimits l;
  l.coalesce_window = 180s;
  l.first_backoff = 2s;
  l.max_backoff = 60s;
  l.max_attempts = 4;
  return l;
}

const Clock::time_point t0 = Clock::time_point() + 1000h;

TEST(PushQueue, OnePushPerDeviceAndTopicPerWindowTheNewestWaiting) {
  PushQueue q(limits());
  q.add(push("d1", "c1", "first"), "https://a", t0);
  auto first = q.take(t0);
  ASSERT_TRUE(first);
  q.finish(std::move(*first), Outcome::kSent, t0 + 1s);
  q.add(push("d1", "c1", "second"), "https://a", t0 + 10s);
  q.add(push("d1", "c1", "third"), "https://a", t0 + 20s);
  EXPECT_EQ(q.stats().coalesced, 1u);
  EXPECT_EQ(q.stats().queued, 1u);
  EXPECT_FALSE(q.take(t0 + 179s));
  EXPECT_EQ(q.next_wake(), t0 + 180s);
  auto later = q.take(t0 + 180s);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->push.payload, "third");
  EXPECT_FALSE(q.take(t0 + 180s));
  // Another topic, or another device, is not held back.
  q.add(push("d1", "c2"), "https://a", t0 + 181s);
  q.add(push("d2", "c1"), "https://a", t0 + 181s);
  EXPECT_TRUE(q.take(t0 + 181s));
}

TEST(PushQueue, AFullQueueDropsItsOldestPushes) {
  QueueLimits l = limits();
  l.max_queued = 3;
  PushQueue q(l);
  for (int i = 0; i < 5; ++i) q.add(push("d" + std::to_string(i), "c"), "https://a", t0);
  EXPECT_EQ(q.stats().dropped, 2u);
  EXPECT_EQ(q.stats().queued, 3u);
  std::vector<std::string> order;
  while (auto e = q.take(t0)) {
    order.push_back(e->push.device);
    q.finish(std::move(*e), Outcome::kSent, t0);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"d2", "d3", "d4"}));
}

TEST(PushQueue, RetriesBackOffExponentiallyOrAsToldThenGiveUp) {
  PushQueue q(limits());
  EXPECT_EQ(q.backoff(1), 2s);
  EXPECT_EQ(q.backoff(2), 4s);
  EXPECT_EQ(q.backoff(3), 8s);
  EXPECT_EQ(q.backoff(10), 60s);
  q.add(push("d", "c"), "https://a", t0);
  auto e = q.take(t0);
  q.finish(std::move(*e), Outcome::kRetry, t0);
  EXPECT_EQ(q.next_wake(), t0 + 2s);
  EXPECT_FALSE(q.take(t0 + 1s));
  e = q.take(t0 + 2s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->attempts, 1);
  q.finish(std::move(*e), Outcome::kRetry, t0 + 2s, 30s);  // Retry-After: 30.
  EXPECT_EQ(q.next_wake(), t0 + 32s);
  e = q.take(t0 + 32s);
  q.finish(std::move(*e), Outcome::kRetry, t0 + 32s);
  EXPECT_EQ(q.next_wake(), t0 + 32s + 8s);
  e = q.take(t0 + 40s);
  q.finish(std::move(*e), Outcome::kRetry, t0 + 40s);  // The fourth attempt failed too.
  EXPECT_EQ(q.stats().retried, 3u);
  EXPECT_EQ(q.stats().failed, 1u);
  EXPECT_EQ(q.stats().queued, 0u);
  EXPECT_FALSE(q.next_wake());
}

TEST(PushQueue, ARetryGivesWayToANewerPushForTheSameTopic) {
  PushQueue q(limits());
  q.add(push("d", "c", "old"), "https://a", t0);
  auto e = q.take(t0);
  q.add(push("d", "c", "new"), "https://a", t0 + 1s);
  q.finish(std::move(*e), Outcome::kRetry, t0 + 2s, 600s);
  EXPECT_EQ(q.stats().queued, 1u);
  EXPECT_EQ(q.next_wake(), t0 + 602s);  // Not before the push service said.
  e = q.take(t0 + 602s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->push.payload, "new");
}

TEST(PushQueue, ASlowPushServiceHoldsOnlyItsOwnPushes) {
  QueueLimits l = limits();
  l.max_in_flight_per_origin = 1;
  PushQueue q(l);
  q.add(push("d1", "c"), "https://slow", t0);
  q.add(push("d2", "c"), "https://slow", t0);
  q.add(push("d3", "c"), "https://fast", t0);
  auto slow = q.take(t0);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->push.device, "d1");
  auto fast = q.take(t0);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->push.device, "d3");
  EXPECT_FALSE(q.take(t0));
  EXPECT_FALSE(q.next_wake());  // Only a finishing request frees room.
  q.finish(std::move(*slow), Outcome::kGone, t0 + 5s);
  auto next = q.take(t0 + 5s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->push.device, "d2");
  EXPECT_EQ(q.stats().gone, 1u);
  EXPECT_EQ(q.stats().in_flight, 2u);
}

TEST(PushQueue, APushWhoseTtlPassedIsNotSent) {
  PushQueue q(limits());
  Push p = push("d", "c");
  p.ttl = 10s;
  q.add(std::move(p), "https://a", t0);
  EXPECT_FALSE(q.take(t0 + 10s));
  EXPECT_EQ(q.stats().expired, 1u);
  EXPECT_EQ(q.stats().queued, 0u);
}

TEST(RetryAfter, SecondsOrAnHttpDate) {
  const auto now = std::chrono::system_clock::from_time_t(1445412420);  // 07:27:00 GMT.
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 60s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now), 0s);
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("", now));
}

TEST(PushQueue, ItsCountersReadAsPrometheusText) {
  QueueStats s;
  s.sent = 7;
  s.dropped = 2;
  std::string out;
  write_metrics(out, s);
  EXPECT_NE(out.find("# TYPE cercle_push_sent_total counter\ncercle_push_sent_total 7\n"),
            std::string::npos);
  EXPECT_NE(out.find("\ncercle_push_dropped_total 2\n"), std::string::npos);
  EXPECT_NE(out.find("\ncercle_push_queued 0\n"), std::string::npos);
}

TEST(PushQueue, UrgencyNamesAreRfc8030s) {
  EXPECT_EQ(urgency_text(Urgency::kVeryLow), "very-low");
  EXPECT_EQ(urgency_text(Urgency::kLow), "low");
  EXPECT_EQ(urgency_text(Urgency::kNormal), "normal");
  EXPECT_EQ(urgency_text(Urgency::kHigh), "high");
}

}  // namespace
}  // namespace cercle::push

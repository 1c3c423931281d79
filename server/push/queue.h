// The sender's bookkeeping, without any network: a bounded queue of pushes waiting to go, at most
// one push per (device, topic) per coalescing window (a newer push replaces one still waiting),
// retries with exponential backoff, and a cap on requests in flight per push service so that a
// slow one cannot hold the others. Time is passed in, so every rule is tested without waiting.
// Not thread-safe: the sender uses it on its strand only.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/push/subscription.h"

namespace cercle::push {

enum class Urgency { kVeryLow, kLow, kNormal, kHigh };
std::string_view urgency_text(Urgency urgency);  // RFC 8030 section 5.3: "very-low", ...

struct Push {
  std::string device;  // The caller's id for the device: the gone callback names it.
  std::string topic;   // What it is about (a conversation): coalescing key with the device.
  Subscription subscription;
  std::string payload;  // Opaque here; encrypted for the device. At most kMaxPlaintext bytes.
  std::chrono::seconds ttl{std::chrono::hours(24)};  // How long the push service may keep it.
  Urgency urgency = Urgency::kNormal;
};

struct QueueLimits {
  size_t max_queued = 1000;  // Waiting pushes; when full, the oldest is dropped.
  std::chrono::milliseconds coalesce_window = std::chrono::minutes(3);
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff = std::chrono::seconds(2);
  std::chrono::milliseconds max_backoff = std::chrono::minutes(10);
  size_t max_in_flight = 16;
  size_t max_in_flight_per_origin = 2;
};

struct QueueStats {
  uint64_t queued = 0;     // Waiting now (due or deferred).
  uint64_t in_flight = 0;  // Requests under way now.
  uint64_t sent = 0;       // Accepted by a push service (2xx).
  uint64_t dropped = 0;    // Pushed out of a full queue.
  uint64_t coalesced = 0;  // Replaced by a newer push for the same device and topic.
  uint64_t retried = 0;
  uint64_t gone = 0;     // 404/410 or an endpoint refused: the subscription is dead.
  uint64_t failed = 0;   // Refused by the push service, or attempts spent.
  uint64_t expired = 0;  // Its TTL passed before it could go.
};

// Appends the counters and gauges as Prometheus text (cercle_push_*): counts only.
void write_metrics(std::string& out, const QueueStats& stats);

// Retry-After (RFC 9110 section 10.2.3): delta-seconds or an HTTP-date, as a wait from `now`.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

class PushQueue {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Push push;
    std::string origin;
    int attempts = 0;  // Made so far.
    Clock::time_point due;
    Clock::time_point expires;
  };
  enum class Outcome { kSent, kGone, kRetry, kFailed };

  explicit PushQueue(QueueLimits limits) : limits_(limits) {}

  // `origin`: the endpoint's, as parse_endpoint gives it.
  void add(Push push, std::string origin, Clock::time_point now);
  // The oldest push due at `now` whose push service has room for one more request; it counts as
  // in flight until `finish`.
  std::optional<Entry> take(Clock::time_point now);
  // kRetry waits `retry_after` if given, else the backoff, unless attempts are spent, its TTL
  // passes first, or a newer push for the same device and topic already waits (it goes instead).
  void finish(Entry entry, Outcome outcome, Clock::time_point now,
              std::optional<Clock::duration> retry_after = std::nullopt);
  // When `take` may next give something (nothing: wait for a request to finish).
  std::optional<Clock::time_point> next_wake() const;
  // Forgets every waiting push (shutting down).
  void clear();

  Clock::duration backoff(int attempts) const;
  const QueueStats& stats() const { return stats_; }

 private:
  using Entries = std::list<Entry>;
  static std::string key_of(const Push& push) { return push.device + '\0' + push.topic; }
  bool has_room(const std::string& origin) const;
  void insert(Entry entry);
  void erase(Entries::iterator it);
  void forget_old_starts(Clock::time_point now);

  QueueLimits limits_;
  Entries entries_;                                             // Oldest first.
  std::unordered_map<std::string, Entries::iterator> waiting_;  // By key_of.
  std::unordered_map<std::string, Clock::time_point> started_;  // Last start by key_of.
  std::unordered_map<std::string, size_t> in_flight_;           // By origin.
  QueueStats stats_;
};

}  // namespace cercle::push

#include "server/push/queue.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "server/common/metrics.h"

namespace cercle::push {

std::string_view urgency_text(Urgency urgency) {
  switch (urgency) {
    case Urgency::kVeryLow:
      return "very-low";
    case Urgency::kLow:
      return "low";
    case Urgency::kHigh:
      return "high";
    case Urgency::kNormal:
      break;
  }
  return "normal";
}

void write_metrics(std::string& out, const QueueStats& s) {
  using metrics::write;
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  write(out, "cercle_push_queued", "gauge", "Pushes waiting to go.", n(s.queued));
  write(out, "cercle_push_in_flight", "gauge", "Requests to push services under way.",
        n(s.in_flight));
  write(out, "cercle_push_sent_total", "counter", "Pushes a push service accepted.", n(s.sent));
  write(out, "cercle_push_dropped_total", "counter", "Pushes dropped from a full queue.",
        n(s.dropped));
  write(out, "cercle_push_coalesced_total", "counter",
        "Pushes replaced by a newer one for the same device and conversation.", n(s.coalesced));
  write(out, "cercle_push_retried_total", "counter", "Attempts retried.", n(s.retried));
  write(out, "cercle_push_gone_total", "counter", "Subscriptions found gone.", n(s.gone));
  write(out, "cercle_push_failed_total", "counter", "Pushes refused or given up.", n(s.failed));
  write(out, "cercle_push_expired_total", "counter", "Pushes whose TTL passed in the queue.",
        n(s.expired));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  uint64_t seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    return std::chrono::seconds(std::min<uint64_t>(seconds, 366ull * 24 * 3600));
  }
  std::tm tm{};
  const std::string text(value);
  const char* rest = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  return std::max(std::chrono::seconds(0), std::chrono::ceil<std::chrono::seconds>(at - now));
}

void PushQueue::add(Push push, std::string origin, Clock::time_point now) {
  const std::string key = key_of(push);
  const auto expires = now + push.ttl;
  if (auto it = waiting_.find(key); it != waiting_.end()) {
    // The newer push takes the waiting one's place and keeps its due time.
    Entry& e = *it->second;
    e.push = std::move(push);
    e.origin = std::move(origin);
    e.attempts = 0;
    e.expires = expires;
    ++stats_.coalesced;
    return;
  }
  auto due = now;
  if (auto s = started_.find(key); s != started_.end())
    due = std::max(due, s->second + limits_.coalesce_window);
  insert(Entry{std::move(push), std::move(origin), 0, due, expires});
  forget_old_starts(now);
}

std::optional<PushQueue::Entry> PushQueue::take(Clock::time_point now) {
  if (stats_.in_flight >= limits_.max_in_flight) return std::nullopt;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->expires <= now) {
      ++stats_.expired;
      erase(it++);
      continue;
    }
    if (it->due > now || !has_room(it->origin)) {
      ++it;
      continue;
    }
    waiting_.erase(key_of(it->push));  // Before the move empties it.
    Entry e = std::move(*it);
    entries_.erase(it);
    stats_.queued = entries_.size();
    ++in_flight_[e.origin];
    ++stats_.in_flight;
    started_[key_of(e.push)] = now;
    return e;
  }
  return std::nullopt;
}

void PushQueue::finish(Entry entry, Outcome outcome, Clock::time_point now,
                       std::optional<Clock::duration> retry_after) {
  if (auto it = in_flight_.find(entry.origin); it != in_flight_.end() && --it->second == 0) {
    in_flight_.erase(it);
  }
  --stats_.in_flight;
  switch (outcome) {
    case Outcome::kSent:
      ++stats_.sent;
      return;
    case Outcome::kGone:
      ++stats_.gone;
      return;
    case Outcome::kFailed:
      ++stats_.failed;
      return;
    case Outcome::kRetry:
      break;
  }
  ++entry.attempts;
  const auto due = now + retry_after.value_or(backoff(entry.attempts));
  if (entry.attempts >= limits_.max_attempts || due >= entry.expires) {
    ++stats_.failed;
    return;
  }
  ++stats_.retried;
  if (auto it = waiting_.find(key_of(entry.push)); it != waiting_.end()) {
    it->second->due = std::max(it->second->due, due);  // The newer push goes, not before.
    ++stats_.coalesced;
    return;
  }
  entry.due = due;
  insert(std::move(entry));
}

std::optional<PushQueue::Clock::time_point> PushQueue::next_wake() const {
  if (stats_.in_flight >= limits_.max_in_flight) return std::nullopt;
  std::optional<Clock::time_point> wake;
  for (const Entry& e : entries_) {
    if (has_room(e.origin) && (!wake || e.due < *wake)) wake = e.due;
  }
  return wake;
}

void PushQueue::clear() {
  entries_.clear();
  waiting_.clear();
  stats_.queued = 0;
}

PushQueue::Clock::duration PushQueue::backoff(int attempts) const {
  Clock::duration wait = limits_.first_backoff;
  for (int i = 1; i < attempts && wait < limits_.max_backoff; ++i) wait *= 2;
  return std::min<Clock::duration>(wait, limits_.max_backoff);
}

bool PushQueue::has_room(const std::string& origin) const {
  const auto it = in_flight_.find(origin);
  return it == in_flight_.end() || it->second < limits_.max_in_flight_per_origin;
}

void PushQueue::insert(Entry entry) {
  if (limits_.max_queued == 0) {
    ++stats_.dropped;
    return;
  }
  while (entries_.size() >= limits_.max_queued) {
    ++stats_.dropped;
    erase(entries_.begin());
  }
  const std::string key = key_of(entry.push);
  entries_.push_back(std::move(entry));
  waiting_[key] = std::prev(entries_.end());
  stats_.queued = entries_.size();
}

void PushQueue::erase(Entries::iterator it) {
  waiting_.erase(key_of(it->push));
  entries_.erase(it);
  stats_.queued = entries_.size();
}

void PushQueue::forget_old_starts(Clock::time_point now) {
  // Bounded by the pushes of one window; swept only when it grows past the queue's size.
  if (started_.size() <= limits_.max_queued) return;
  std::erase_if(started_, [&](const auto& s) { return s.second + limits_.coalesce_window <= now; });
}

}  // namespace cercle::push

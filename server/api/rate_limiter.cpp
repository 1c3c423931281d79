#include "server/api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cercle::api {

RateLimiter::RateLimiter(double per_second, double burst, size_t max_keys)
    : per_ms_(per_second / 1000.0),
      burst_(std::max(burst, 1.0)),
      max_keys_(std::max<size_t>(max_keys, 1)) {}

uint64_t RateLimiter::take(std::string_view key_view, int64_t now_ms) {
  if (per_ms_ <= 0) return 0;
  std::string key(key_view);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      buckets_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    it = buckets_.emplace(std::move(key), Bucket{burst_, now_ms, order_.begin()}).first;
  } else {
    order_.splice(order_.begin(), order_, it->second.order);
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + static_cast<double>(now_ms - b.updated_ms) * per_ms_);
  b.updated_ms = now_ms;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<uint64_t>(std::ceil((1.0 - b.tokens) / per_ms_));
}

}  // namespace cercle::api

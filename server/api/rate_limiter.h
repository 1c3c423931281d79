// RateLimiter: token buckets by key (an IP address, an account), for registrations, authentication
// attempts and messages. Each key may spend `burst` tokens at once and regains `per_second`; the
// number of keys is bounded (the least recently refilled are forgotten first, which only makes a
// forgotten key's next request free). Lives on the io thread; not thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cercle::api {

class RateLimiter {
 public:
  // per_second 0 disables the limiter (every take() succeeds).
  RateLimiter(double per_second, double burst, size_t max_keys = 100'000);

  // Takes one token for `key` at `now_ms`. Returns 0 when allowed, else the milliseconds until a
  // token will be available.
  uint64_t take(std::string_view key, int64_t now_ms);

  size_t keys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    int64_t updated_ms;
    std::list<std::string>::iterator order;
  };
  const double per_ms_;
  const double burst_;
  const size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> order_;  // Most recently used at the front.
};

}  // namespace cercle::api

#include "server/api/rate_limiter.h"

#include <gtest/gtest.h>

namespace cercle::api {
namespace {

TEST(RateLimiter, AllowsTheBurstThenRefillsAtTheRate) {
  RateLimiter limiter(2.0, 3.0);  // 2 per second, bursts of 3.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take("ip:1", 1000), 0u);
  const uint64_t wait = limiter.take("ip:1", 1000);
  EXPECT_EQ(wait, 500u);  // One token every 500 ms.
  EXPECT_EQ(limiter.take("ip:2", 1000), 0u) << "keys are independent";
  EXPECT_GT(limiter.take("ip:1", 1499), 0u);
  EXPECT_EQ(limiter.take("ip:1", 1500), 0u);
}

TEST(RateLimiter, ZeroRateDisablesIt) {
  RateLimiter off(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(off.take("k", 0), 0u);
}

TEST(RateLimiter, KeysAreBoundedForgettingTheLeastRecent) {
  RateLimiter limiter(1.0, 1.0, 2);
  EXPECT_EQ(limiter.take("a", 0), 0u);
  EXPECT_EQ(limiter.take("b", 0), 0u);
  EXPECT_GT(limiter.take("a", 0), 0u);  // "a" is now the most recent.
  EXPECT_EQ(limiter.take("c", 0), 0u);  // Evicts "b".
  EXPECT_EQ(limiter.keys(), 2u);
  EXPECT_EQ(limiter.take("b", 0), 0u);  // Forgotten: free again (and evicts "a").
  EXPECT_EQ(limiter.take("a", 0), 0u);
}

}  // namespace
}  // namespace cercle::api

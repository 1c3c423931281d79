// Rate limits against the real server: registrations and authentication attempts per address,
// messages per account; each answers RATE_LIMITED with the time to wait, and recovers after it.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayRateLimitsTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server(
        {"--config",
         write_config(
             "[rate_limits]\n"
             "registrations_per_ip_per_hour = 3600\nregistrations_per_ip_per_hour_burst = 2\n"
             "auth_attempts_per_ip_per_minute = 60\nauth_attempts_per_ip_per_minute_burst = 3\n"
             "messages_per_account_per_second = 2\nmessages_per_account_per_second_burst = 2\n")}));
  }
};

TEST_F(RelayRateLimitsTest, RegistrationsPerAddressAreLimitedAndRecover) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  auto c = connect();
  ASSERT_TRUE(c->hello());
  DeviceKey key;
  auto limited = c->register_device(key, "carol");
  ASSERT_EQ(error_of(limited), v1::RATE_LIMITED);
  const uint64_t wait = limited->error().retry_after_ms();
  EXPECT_GT(wait, 0u);
  EXPECT_LE(wait, 1000u);  // One registration a second here.
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  auto ok = c->register_device(key, "carol");  // The challenge was not used by the refusal.
  ASSERT_TRUE(ok && ok->has_auth()) << (ok ? ok->error().message() : "timeout");
}

TEST_F(RelayRateLimitsTest, AuthenticationAttemptsPerAddressAreLimitedAndRecover) {
  TestDevice a;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  DeviceKey stranger;
  int limited_at = -1;
  uint64_t wait = 0;
  for (int i = 0; i < 5 && limited_at < 0; ++i) {
    auto c = connect();
    ASSERT_TRUE(c->hello());
    auto r = c->authenticate(stranger);
    if (error_of(r) == v1::RATE_LIMITED) {
      limited_at = i;
      wait = r->error().retry_after_ms();
    } else {
      EXPECT_EQ(error_of(r), v1::AUTH_FAILED);
    }
  }
  EXPECT_EQ(limited_at, 3);  // The burst of 3 attempts, then the limit.
  EXPECT_GT(wait, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  auto c = connect();
  ASSERT_TRUE(c->hello_and_authenticate(a.key)) << c->last_error();
}

TEST_F(RelayRateLimitsTest, MessagesPerAccountAreLimitedAndRecover) {
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));  // One commit: one message.
  ASSERT_TRUE(a.ws->call(send_frame(conv, 1, "one"))->has_send());
  auto limited = a.ws->call(send_frame(conv, 1, "two"));
  ASSERT_EQ(error_of(limited), v1::RATE_LIMITED);
  const uint64_t wait = limited->error().retry_after_ms();
  EXPECT_GT(wait, 0u);
  EXPECT_LE(wait, 500u);
  // Another account is not slowed down by alice.
  ASSERT_TRUE(b.ws->call(send_frame(conv, 1, "from bob"))->has_send());
  std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
  ASSERT_TRUE(a.ws->call(send_frame(conv, 1, "two again"))->has_send());
}

}  // namespace
}  // namespace cercle::testing

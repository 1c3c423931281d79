#include "server/net/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cercle::net {
namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/cercle-config-XXXXXX";
  const int fd = mkstemp(name);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

TEST(Config, TheDocumentedExampleParsesToTheDefaults) {
  ServerConfig defaults;
  ServerConfig parsed;
  const auto s = load_config_file(CERCLE_SOURCE_DIR "/deploy/cercle.toml", parsed);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(parsed.listen_host, defaults.listen_host);
  EXPECT_EQ(parsed.listen_port, defaults.listen_port);
  EXPECT_EQ(parsed.send_queue_bytes, defaults.send_queue_bytes);
  EXPECT_EQ(parsed.api.max_frame_bytes, defaults.api.max_frame_bytes);
  EXPECT_EQ(parsed.domain.max_payload_bytes, defaults.domain.max_payload_bytes);
  EXPECT_EQ(parsed.domain.registration, defaults.domain.registration);
  EXPECT_EQ(parsed.domain.registration_code_ttl_ms, defaults.domain.registration_code_ttl_ms);
  EXPECT_EQ(parsed.sync, defaults.sync);
  EXPECT_DOUBLE_EQ(parsed.rates.registrations_per_ip.per_second,
                   defaults.rates.registrations_per_ip.per_second);
  EXPECT_DOUBLE_EQ(parsed.rates.registrations_per_ip.burst,
                   defaults.rates.registrations_per_ip.burst);
  EXPECT_DOUBLE_EQ(parsed.rates.auth_attempts_per_ip.burst,
                   defaults.rates.auth_attempts_per_ip.burst);
  EXPECT_DOUBLE_EQ(parsed.rates.messages_per_account.per_second,
                   defaults.rates.messages_per_account.per_second);
  EXPECT_DOUBLE_EQ(parsed.rates.messages_per_account.burst,
                   defaults.rates.messages_per_account.burst);
  EXPECT_DOUBLE_EQ(parsed.rates.messages_per_ip.burst, defaults.rates.messages_per_ip.burst);
  EXPECT_EQ(parsed.write_stall_s, defaults.write_stall_s);
  EXPECT_EQ(parsed.max_connections_per_address, defaults.max_connections_per_address);
  EXPECT_EQ(parsed.auth_timeout_s, defaults.auth_timeout_s);
  EXPECT_EQ(parsed.frame_timeout_s, defaults.frame_timeout_s);
  EXPECT_EQ(parsed.partial_frames_bytes, defaults.partial_frames_bytes);
  for (auto rate : {&api::RateLimits::key_package_fetches_per_account,
                    &api::RateLimits::contact_link_changes_per_account,
                    &api::RateLimits::conversations_per_account}) {
    EXPECT_DOUBLE_EQ((parsed.rates.*rate).per_second, (defaults.rates.*rate).per_second);
    EXPECT_DOUBLE_EQ((parsed.rates.*rate).burst, (defaults.rates.*rate).burst);
  }
}

TEST(Config, ConnectionLimitsAndNewRatesAreRead) {
  ServerConfig c;
  const auto path = write_temp(
      "[limits]\nmax_connections_per_address = 3\nauth_timeout_s = 2\nframe_timeout_s = 4\n"
      "partial_frames_bytes = 1048576\n"
      "[rate_limits]\nkey_package_fetches_per_account_per_minute = 6\n"
      "contact_link_changes_per_account_per_hour = 7\nconversations_per_account_per_hour = 8\n"
      "conversations_per_account_per_hour_burst = 2\n");
  ASSERT_TRUE(load_config_file(path, c).ok());
  EXPECT_EQ(c.max_connections_per_address, 3u);
  EXPECT_EQ(c.auth_timeout_s, 2u);
  EXPECT_EQ(c.frame_timeout_s, 4u);
  EXPECT_EQ(c.partial_frames_bytes, 1048576u);
  EXPECT_DOUBLE_EQ(c.rates.key_package_fetches_per_account.per_second, 0.1);
  EXPECT_DOUBLE_EQ(c.rates.key_package_fetches_per_account.burst, 6);
  EXPECT_DOUBLE_EQ(c.rates.contact_link_changes_per_account.per_second, 7.0 / 3600);
  EXPECT_DOUBLE_EQ(c.rates.conversations_per_account.burst, 2);
  std::remove(path.c_str());

  // A budget smaller than one whole message would refuse every large message.
  const auto small = write_temp("[limits]\npartial_frames_bytes = 65536\n");
  auto s = load_config_file(small, c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("limits.partial_frames_bytes"), std::string::npos);
  std::remove(small.c_str());
}

TEST(Config, ValuesAreReadAndFlagsOverrideThem) {
  ServerConfig c;
  const auto path = write_temp(
      "[server]\nlisten = \"0.0.0.0:9000\"\nregistration = \"open\"\n"
      "[limits]\nidle_timeout_s = 30\n[storage]\nsync = false\n");
  ASSERT_TRUE(load_config_file(path, c).ok());
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.domain.registration, domain::RegistrationPolicy::kOpen);
  EXPECT_EQ(c.idle_timeout_s, 30u);
  EXPECT_EQ(c.api.idle_timeout_s, 30u);
  EXPECT_FALSE(c.sync);
  ASSERT_TRUE(apply_flags({"--listen", "127.0.0.1:0", "--sync", "true"}, c).ok());
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_TRUE(c.sync);
  std::remove(path.c_str());
}

TEST(Config, ErrorsNameTheKeyAndTheRule) {
  ServerConfig c;
  const auto path = write_temp("[limits]\nidle_timeout_s = 1\n");
  auto s = load_config_file(path, c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("limits.idle_timeout_s"), std::string::npos);
  std::remove(path.c_str());

  const auto syntax = write_temp("[server\n");
  s = load_config_file(syntax, c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(":1:"), std::string::npos);  // File and line.
  std::remove(syntax.c_str());

  EXPECT_FALSE(apply_flags({"--registration", "sometimes"}, c).ok());
  EXPECT_FALSE(apply_flags({"--listen", "nocolon"}, c).ok());
  EXPECT_FALSE(apply_flags({"--bogus", "1"}, c).ok());
}

}  // namespace
}  // namespace cercle::net

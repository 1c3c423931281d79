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
                    &api::RateLimits::conversations_per_account,
                    &api::RateLimits::push_subscriptions_per_account}) {
    EXPECT_DOUBLE_EQ((parsed.rates.*rate).per_second, (defaults.rates.*rate).per_second);
    EXPECT_DOUBLE_EQ((parsed.rates.*rate).burst, (defaults.rates.*rate).burst);
  }
  EXPECT_EQ(parsed.push.enabled, defaults.push.enabled);
  EXPECT_EQ(parsed.push.subject, defaults.push.subject);
  EXPECT_EQ(parsed.push.allow_insecure_endpoints_for_tests,
            defaults.push.allow_insecure_endpoints_for_tests);
}

TEST(Config, PushIsReadAndABadContactRefused) {
  ServerConfig c;
  ASSERT_TRUE(c.push.enabled);
  auto s =
      load_config_file(write_temp("[push]\nenabled = false\nsubject = \"mailto:ops@asso.example\"\n"
                                  "allow_insecure_endpoints_for_tests = true\n"),
                       c);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(c.push.enabled);
  EXPECT_EQ(c.push.subject, "mailto:ops@asso.example");
  EXPECT_TRUE(c.push.allow_insecure_endpoints_for_tests);
  const auto path = write_temp("[push]\nsubject = \"ops@asso.example\"\n");
  s = load_config_file(path, c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, path +
                                   ": push.subject must be a mailto: or https: address, e.g. "
                                   "\"mailto:admin@example.org\"");
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

constexpr char kAssociation[] =
    "[association]\nname = \"Entraide Rhône\"\npage = \"https://entraide.example/aide\"\n"
    "answer_times = \"Sous 48 h, du lundi au vendredi.\"\n"
    "[[association.contacts]]\nname = \"Permanence\"\ndetails = \"Le soir, 18 h - 22 h\"\n"
    "phone = \"+33 4 00 00 00 00\"\nsms = \"06 00 00 00 00\"\n"
    "[[association.contacts]]\nname = \"Forum\"\nurl = \"https://entraide.example/forum\"\n";

// Loads `text` into a fresh config; returns the error message, empty when it loaded.
std::string load_error(const std::string& text, ServerConfig& c) {
  const auto path = write_temp(text);
  auto s = load_config_file(path, c);
  std::remove(path.c_str());
  return s ? std::string() : s.error().message;
}

TEST(Config, TheAssociationIsRead) {
  ServerConfig c;
  ASSERT_EQ(load_error(kAssociation, c), "");
  const auto& a = c.domain.association;
  EXPECT_EQ(a.name, "Entraide Rhône");
  EXPECT_EQ(a.page, "https://entraide.example/aide");
  EXPECT_EQ(a.answer_times, "Sous 48 h, du lundi au vendredi.");
  ASSERT_EQ(a.contacts.size(), 2u);
  EXPECT_EQ(a.contacts[0].name, "Permanence");
  EXPECT_EQ(a.contacts[0].details, "Le soir, 18 h - 22 h");
  EXPECT_EQ(a.contacts[0].phone, "+33 4 00 00 00 00");
  EXPECT_EQ(a.contacts[0].sms, "06 00 00 00 00");
  EXPECT_EQ(a.contacts[0].url, "");
  EXPECT_EQ(a.contacts[1].url, "https://entraide.example/forum");

  ServerConfig none;
  ASSERT_EQ(load_error("[server]\ninstance_name = \"x\"\n", none), "");
  EXPECT_EQ(none.domain.association.name, "");
  EXPECT_TRUE(none.domain.association.contacts.empty());
}

TEST(Config, EachBadAssociationIsRefusedByName) {
  const std::string contact = "[[association.contacts]]\nname = \"P\"\nphone = \"3114\"\n";
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"[association]\npage = \"https://a.example\"\n", "association.name is required"},
      {"[association]\nname = \"A\"\npage = \"http://a.example\"\n", "association.page"},
      {"[association]\nname = \"A\"\npage = \"javascript:alert(1)\"\n", "association.page"},
      {"[association]\nname = 3\n", "association.name must be a string"},
      {"[association]\nname = \"A\"\ncontacts = \"x\"\n", "association.contacts must be"},
      {"[association]\nname = \"A\"\n[[association.contacts]]\nphone = \"3114\"\n",
       "association.contacts[0].name is required"},
      {"[association]\nname = \"A\"\n[[association.contacts]]\nname = \"P\"\n",
       "needs a phone, an sms or a url"},
      {"[association]\nname = \"A\"\n[[association.contacts]]\nname = \"P\"\nphone = \"31a4\"\n",
       "phone and sms are digits"},
      {"[association]\nname = \"A\"\n[[association.contacts]]\nname = \"P\"\nsms = \"+\"\n",
       "phone and sms are digits"},
      {"[association]\nname = \"A\"\n[[association.contacts]]\nname = \"P\"\nurl = \"http://x\"\n",
       "association.contacts[0].url must be an https://"},
      {"[association]\nname = \"A\"\n" +
           [&] {
             std::string s;
             for (int i = 0; i < 9; ++i) s += contact;
             return s;
           }(),
       "at most 8"},
      {"[association]\nname = \"A\"\nanswer_times = \"" + std::string(2048, 'x') + "\"\n",
       "over 2048 bytes"},
  };
  for (const auto& c : cases) {
    ServerConfig config;
    const std::string error = load_error(c.text, config);
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << "\n -> " << error;
    EXPECT_EQ(config.domain.association.name, "") << c.text;  // Nothing half read.
  }
  // The bounds themselves are allowed.
  ServerConfig eight;
  std::string text = "[association]\nname = \"A\"\n";
  for (int i = 0; i < 8; ++i) text += contact;
  ASSERT_EQ(load_error(text, eight), "");
  EXPECT_EQ(eight.domain.association.contacts.size(), 8u);
}

}  // namespace
}  // namespace cercle::net

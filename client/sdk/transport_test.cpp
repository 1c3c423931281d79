#include "client/sdk/transport.h"

#include <gtest/gtest.h>

namespace cercle::client {
namespace {

TEST(ParseUrl, PlainAndTlsWithDefaults) {
  auto plain = parse_url("ws://127.0.0.1:8080/ws");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, "8080");
  EXPECT_EQ(plain->path, "/ws");
  auto tls = parse_url("wss://cercle.example.org");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, "443");
  EXPECT_EQ(tls->path, "/ws");
  auto v6 = parse_url("ws://[::1]:9000/ws");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9000");
}

TEST(ParseUrl, RefusesOtherSchemes) {
  EXPECT_EQ(parse_url("http://example.org").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(parse_url("ws://").error().code, Errc::kInvalidArgument);
}

TEST(Transport, ConnectingNowhereFailsWithinTheTimeout) {
  auto e = parse_url("ws://127.0.0.1:1/ws");
  ASSERT_TRUE(e.ok());
  auto t = Transport::connect(*e, std::chrono::milliseconds(2000));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::kNetwork);
}

}  // namespace
}  // namespace cercle::client

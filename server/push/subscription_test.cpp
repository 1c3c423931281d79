#include "server/push/subscription.h"

#include <gtest/gtest.h>

#include "server/push/base64url.h"

namespace cercle::push {
namespace {

namespace ip = boost::asio::ip;

TEST(Endpoint, AnHttpsEndpointGivesItsOriginAndTarget) {
  auto e = parse_endpoint("https://fcm.googleapis.com/fcm/send/abc:def?x=1", {});
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "fcm.googleapis.com");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->target, "/fcm/send/abc:def?x=1");
  EXPECT_EQ(e->origin, "https://fcm.googleapis.com");
  auto p = parse_endpoint("https://Push.Example.NET:8443", {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->origin, "https://push.example.net:8443");
  EXPECT_EQ(p->target, "/");
}

TEST(Endpoint, PlainHttpAndPrivateAddressesOnlyWhenAllowed) {
  for (const char* url :
       {"http://push.example.net/x", "https://127.0.0.1/x", "https://10.1.2.3/x",
        "https://192.168.1.1/x", "https://169.254.169.254/latest", "https://[::1]/x",
        "https://[fd00::1]/x", "https://[::ffff:127.0.0.1]/x", "https://user@push.example.net/x",
        "ftp://push.example.net/x", "not a url", "https://push.example.net:0/x"}) {
    auto e = parse_endpoint(url, {});
    ASSERT_FALSE(e.ok()) << url;
    EXPECT_EQ(e.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(e.error().message.find("push.example"), std::string::npos);  // Never quoted.
  }
  EXPECT_FALSE(parse_endpoint("https://x.example/" + std::string(kMaxEndpointSize, 'a'), {}).ok());
  auto local = parse_endpoint("http://127.0.0.1:5000/sub/1", {true, true});
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->origin, "http://127.0.0.1:5000");
  EXPECT_FALSE(local->tls);
}

TEST(Endpoint, OnlyPublicUnicastAddressesAreAllowed) {
  EXPECT_TRUE(address_allowed(ip::make_address("8.8.8.8"), {}));
  EXPECT_TRUE(address_allowed(ip::make_address("2a00:1450:4007::200e"), {}));
  for (const char* a : {"127.0.0.1", "0.0.0.0", "10.0.0.1", "172.16.0.1", "172.31.255.255",
                        "192.168.0.1", "100.64.0.1", "169.254.1.1", "224.0.0.1",
                        "255.255.255.255", "::", "::1", "fe80::1", "fc00::1", "ff02::1",
                        "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(address_allowed(ip::make_address(a), {})) << a;
    EXPECT_TRUE(address_allowed(ip::make_address(a), {false, true})) << a;
  }
  EXPECT_TRUE(address_allowed(ip::make_address("172.32.0.1"), {}));
}

TEST(Subscription, KeysAreDecodedAndChecked) {
  auto device = P256Key::generate();
  ASSERT_TRUE(device.ok());
  const std::string p256dh = base64url_encode(device->public_point());
  const std::string auth = base64url_encode(std::string(16, 'a'));
  auto s = make_subscription("https://push.example.net/t", p256dh, auth, {});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->keys.p256dh, device->public_point());
  EXPECT_EQ(s->keys.auth, std::string(16, 'a'));
  std::string off = device->public_point();
  off[40] ^= 1;
  EXPECT_FALSE(make_subscription("https://push.example.net/t", base64url_encode(off), auth, {}).ok());
  EXPECT_FALSE(make_subscription("https://push.example.net/t", p256dh, "YQ", {}).ok());
  EXPECT_FALSE(make_subscription("https://push.example.net/t", p256dh, "***", {}).ok());
  EXPECT_FALSE(make_subscription("http://push.example.net/t", p256dh, auth, {}).ok());
}

}  // namespace
}  // namespace cercle::push

#include "server/net/peer.h"

#include <gtest/gtest.h>

namespace cercle::net {
namespace {

namespace ip = boost::asio::ip;

TEST(Peer, AMappedIpv4ClientIsItsIpv4Address) {
  const auto mapped = ip::make_address("::ffff:192.0.2.7");
  const auto a = client_address(mapped, "", {});
  ASSERT_TRUE(a.is_v4());
  EXPECT_EQ(a.to_string(), "192.0.2.7");
  EXPECT_EQ(peer_of(a).key(), peer_of(ip::make_address("192.0.2.7")).key());
  // Two IPv4 clients arriving mapped do not share a rate-limit bucket.
  EXPECT_NE(peer_of(client_address(ip::make_address("::ffff:192.0.2.8"), "", {})).key(),
            peer_of(a).key());
  EXPECT_TRUE(client_address(ip::make_address("::ffff:127.0.0.1"), "", {}).is_loopback());
}

TEST(Peer, OnlyATrustedProxyNamesTheClient) {
  const auto proxy = ip::make_address("127.0.0.1");
  auto trusted = parse_proxies({"127.0.0.1"});
  ASSERT_TRUE(trusted.ok());
  // The last address is the one the proxy added; earlier ones are the client's own claims.
  EXPECT_EQ(client_address(proxy, "10.9.9.9, 203.0.113.5", *trusted).to_string(), "203.0.113.5");
  EXPECT_EQ(client_address(proxy, " 2001:db8::1 ", *trusted).to_string(), "2001:db8::1");
  // Not a trusted proxy, no header, or an unreadable one: the TCP peer.
  EXPECT_EQ(client_address(ip::make_address("198.51.100.1"), "203.0.113.5", *trusted).to_string(),
            "198.51.100.1");
  EXPECT_EQ(client_address(proxy, "", *trusted).to_string(), "127.0.0.1");
  EXPECT_EQ(client_address(proxy, "n'importe quoi", *trusted).to_string(), "127.0.0.1");
  EXPECT_EQ(client_address(proxy, "203.0.113.5", {}).to_string(), "127.0.0.1");
  EXPECT_FALSE(parse_proxies({"localhost"}).ok());
}

TEST(Peer, AddressCountsCapEachAddressAndGiveSlotsBack) {
  AddressCounts counts;
  const auto a = peer_of(ip::make_address("192.0.2.7"));
  const auto b = peer_of(ip::make_address("192.0.2.8"));
  // An IPv6 /64 counts as one address.
  const auto v6a = peer_of(ip::make_address("2001:db8::1"));
  const auto v6b = peer_of(ip::make_address("2001:db8::2"));
  AddressSlot first = counts.take(a, 2);
  AddressSlot second = counts.take(a, 2);
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(counts.take(a, 2));
  EXPECT_EQ(counts.count(a), 2u);
  EXPECT_TRUE(counts.take(b, 2));  // Given back at once: b has none left.
  EXPECT_EQ(counts.count(b), 0u);
  AddressSlot moved = std::move(first);
  EXPECT_FALSE(counts.take(a, 2));  // Moving a slot does not give it back.
  moved = AddressSlot();
  EXPECT_EQ(counts.count(a), 1u);
  AddressSlot again = counts.take(a, 2);
  EXPECT_TRUE(again);
  AddressSlot v6 = counts.take(v6a, 1);
  EXPECT_TRUE(v6);
  EXPECT_FALSE(counts.take(v6b, 1));
  second = AddressSlot();
  again = AddressSlot();
  v6 = AddressSlot();
  EXPECT_EQ(counts.addresses(), 0u);  // Nothing kept for addresses without connections.
}

TEST(Peer, OnlyListedProxiesAreTrusted) {
  const std::vector<ip::address> trusted{ip::make_address("127.0.0.1")};
  EXPECT_TRUE(is_trusted_proxy(ip::make_address("127.0.0.1"), trusted));
  EXPECT_TRUE(is_trusted_proxy(ip::make_address("::ffff:127.0.0.1"), trusted));
  EXPECT_FALSE(is_trusted_proxy(ip::make_address("127.0.0.2"), trusted));
  EXPECT_FALSE(is_trusted_proxy(ip::make_address("127.0.0.1"), {}));
}

}  // namespace
}  // namespace cercle::net

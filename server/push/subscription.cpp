#include "server/push/subscription.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>

#include "server/push/base64url.h"

namespace cercle::push {
namespace {

namespace ip = boost::asio::ip;
namespace urls = boost::urls;

Error bad(const char* why) { return make_error(Errc::kInvalidArgument, why); }

bool v4_public(const ip::address_v4& a) {
  const uint32_t v = a.to_uint();
  struct Range {
    uint32_t net;
    int bits;
  };
  static constexpr std::array<Range, 9> kSpecial{{{0x00000000, 8},    // "This" network.
                                                  {0x0a000000, 8},    // Private.
                                                  {0x64400000, 10},   // Carrier-grade NAT.
                                                  {0x7f000000, 8},    // Loopback.
                                                  {0xa9fe0000, 16},   // Link-local.
                                                  {0xac100000, 12},   // Private.
                                                  {0xc0a80000, 16},   // Private.
                                                  {0xe0000000, 4},    // Multicast.
                                                  {0xf0000000, 4}}};  // Reserved, broadcast.
  return std::none_of(kSpecial.begin(), kSpecial.end(), [v](const Range& r) {
    return (v >> (32 - r.bits)) == (r.net >> (32 - r.bits));
  });
}

bool v6_public(const ip::address_v6& a) {
  if (a.is_v4_mapped()) return v4_public(ip::make_address_v4(ip::v4_mapped, a));
  const auto b = a.to_bytes();
  const bool unique_local = (b[0] & 0xfe) == 0xfc;
  return !a.is_loopback() && !a.is_unspecified() && !a.is_link_local() && !a.is_site_local() &&
         !a.is_multicast() && !unique_local;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The host part of `u`, refusing what no push service uses.
Result<std::string> host_of(const urls::url_view& u, const EndpointRules& rules) {
  switch (u.host_type()) {
    case urls::host_type::name: {
      const std::string host = lower(u.encoded_host());
      if (host.empty() || host.find('%') != std::string::npos) return bad("bad endpoint host");
      return host;
    }
    case urls::host_type::ipv4:
      if (!address_allowed(ip::make_address_v4(u.host_ipv4_address().to_uint()), rules)) {
        return bad("the endpoint's address is not public");
      }
      return u.host_ipv4_address().to_string();
    case urls::host_type::ipv6: {
      const auto bytes = u.host_ipv6_address().to_bytes();
      if (!address_allowed(ip::address_v6(bytes), rules)) {
        return bad("the endpoint's address is not public");
      }
      return u.host_ipv6_address().to_string();
    }
    default:
      return bad("bad endpoint host");
  }
}

}  // namespace

bool address_allowed(const ip::address& address, const EndpointRules& rules) {
  if (rules.allow_private_addresses) return true;
  return address.is_v4() ? v4_public(address.to_v4()) : v6_public(address.to_v6());
}

Result<Endpoint> parse_endpoint(std::string_view url, const EndpointRules& rules) {
  if (url.size() > kMaxEndpointSize) return bad("the endpoint is too long");
  auto parsed = urls::parse_absolute_uri(url);
  if (!parsed) return bad("the endpoint is not a URL");
  const urls::url_view u = *parsed;
  Endpoint e;
  if (u.scheme_id() == urls::scheme::http && rules.allow_plain_http) {
    e.tls = false;
  } else if (u.scheme_id() != urls::scheme::https) {
    return bad("the endpoint is not https");
  }
  if (u.has_userinfo()) return bad("the endpoint has user info");
  auto host = host_of(u, rules);
  if (!host) return std::move(host).error();
  e.host = std::move(*host);
  const uint16_t default_port = e.tls ? 443 : 80;
  e.port = default_port;
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) return bad("bad endpoint port");
    e.port = u.port_number();
  }
  e.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) e.target += "?" + std::string(u.encoded_query());
  const bool v6 = u.host_type() == urls::host_type::ipv6;
  e.origin = std::string(e.tls ? "https://" : "http://") + (v6 ? "[" + e.host + "]" : e.host);
  if (e.port != default_port) e.origin += ":" + std::to_string(e.port);
  return e;
}

Result<Subscription> make_subscription(std::string endpoint, std::string_view p256dh,
                                       std::string_view auth, const EndpointRules& rules) {
  auto parsed = parse_endpoint(endpoint, rules);
  if (!parsed) return std::move(parsed).error();
  auto point = base64url_decode(p256dh);
  if (!point || !P256Key::from_public(*point).ok()) return bad("p256dh is not a P-256 point");
  auto secret = base64url_decode(auth);
  if (!secret || secret->size() != kAuthSecretSize) return bad("auth is not 16 bytes");
  return Subscription{std::move(endpoint), PushKeys{std::move(*point), std::move(*secret)}};
}

}  // namespace cercle::push

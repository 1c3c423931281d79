// A device's push subscription and the rules its endpoint must meet. The endpoint comes from a
// client, so it is checked before anything is sent to it: https only, no user info, and (after
// resolution too) no loopback, private, link-local or multicast address, so that a subscription
// cannot turn the relay into a probe of its own network. Pure functions; any thread.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "server/common/result.h"
#include "server/push/ece.h"

namespace cercle::push {

inline constexpr size_t kMaxEndpointSize = 2048;

struct EndpointRules {
  bool allow_plain_http = false;         // For a push-service double in tests only.
  bool allow_private_addresses = false;  // Likewise (127.0.0.1).
};

struct Endpoint {
  bool tls = true;
  std::string host;  // A lower-case name or an address, without brackets.
  uint16_t port = 443;
  std::string target;  // Path and query: the subscription's secret token, never logged.
  std::string origin;  // "https://host[:port]": the VAPID audience.
};

// Errors: kInvalidArgument saying which rule the URL breaks (never quoting it).
Result<Endpoint> parse_endpoint(std::string_view url, const EndpointRules& rules);

// Whether a push may be sent to `address`: a public unicast address, or anything when the rules
// allow private addresses.
bool address_allowed(const boost::asio::ip::address& address, const EndpointRules& rules);

// A device's subscription as its browser (or a UnifiedPush distributor) gives it.
struct Subscription {
  std::string endpoint;
  PushKeys keys;
};

// From the PushSubscription's JSON fields: endpoint, keys.p256dh and keys.auth (base64url).
// Errors: kInvalidArgument (bad endpoint, key not a P-256 point, auth secret not 16 bytes).
Result<Subscription> make_subscription(std::string endpoint, std::string_view p256dh,
                                       std::string_view auth, const EndpointRules& rules);

}  // namespace cercle::push

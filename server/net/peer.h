// Who a connection is, for rate limits and the loopback-only /metrics: the TCP peer's address, with
// IPv4-mapped IPv6 addresses (a dual-stack listener's IPv4 clients) read as the IPv4 addresses they
// are, and, when that peer is a trusted reverse proxy, the address it says it forwards for (the
// last one of X-Forwarded-For, the one the proxy itself added). Pure functions; any thread.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string_view>
#include <vector>

#include "server/api/connection.h"
#include "server/common/result.h"

namespace cercle::net {

// Parses `[server] trusted_proxies`. Errors: kInvalidArgument naming the bad entry.
[[nodiscard]] Result<std::vector<boost::asio::ip::address>> parse_proxies(
    const std::vector<std::string>& texts);

// The client's address: see the file comment. `forwarded_for` is the X-Forwarded-For header ("" if
// none).
boost::asio::ip::address client_address(const boost::asio::ip::address& remote,
                                        std::string_view forwarded_for,
                                        const std::vector<boost::asio::ip::address>& trusted);

api::PeerAddress peer_of(const boost::asio::ip::address& address);

}  // namespace cercle::net

// Serves one accepted TCP connection over HTTP/1.1: /healthz, the web client's static files, and
// the upgrade of /ws to a WebSocket. Runs on the io_context thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "server/net/net_context.h"

namespace cercle::net {

// Takes over `socket`. The connection keeps itself alive until it ends, with `slot`, its place
// among its address's connections (empty for a trusted proxy's connection: its WebSocket upgrade is
// counted against the forwarded address, and refused with 429 past the limit).
void start_http(boost::asio::ip::tcp::socket socket, NetContext& ctx, AddressSlot slot);

}  // namespace cercle::net

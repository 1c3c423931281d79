// NetContext: what every connection of the transport shares. Lives on the io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/intrusive/list.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/api/hub.h"
#include "server/net/config.h"
#include "server/net/peer.h"

namespace cercle::net {

// Base of every WebSocket connection, linked into NetContext::websockets so that shutdown can
// close them all. Unlinks itself when destroyed.
class LiveWebSocket : public boost::intrusive::list_base_hook<
                          boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~LiveWebSocket() = default;
  // Sends a close frame after what is queued (going away), or drops the socket when `hard`.
  virtual void shut(bool hard) = 0;
  // Called about once a second: pings a quiet peer, drops a silent one or a stuck close.
  virtual void sweep(int64_t now_ms) = 0;
  virtual size_t queued_bytes() const = 0;
};

struct NetContext {
  boost::asio::io_context& ioc;
  const ServerConfig& config;
  api::Hub& hub;
  boost::intrusive::list<LiveWebSocket, boost::intrusive::constant_time_size<false>> websockets;
  size_t connections = 0;  // Open sockets, HTTP and WebSocket.
  // Coarse monotonic time in milliseconds, refreshed by the sweep timer: connections stamp their
  // activity with it at no cost.
  int64_t now_ms = 0;
  bool stopping = false;
  // Renders /metrics (Prometheus text).
  std::function<std::string()> metrics;
  // Set when the server speaks TLS; replaced on reload (SIGHUP), kept by the connections using it.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Reverse proxies whose X-Forwarded-For is believed (server.trusted_proxies).
  std::vector<boost::asio::ip::address> trusted_proxies;
  // Open connections per client address (limits.max_connections_per_address).
  AddressCounts addresses;
  // Bytes held by all connections for messages not yet whole (limits.partial_frames_bytes).
  size_t partial_frame_bytes = 0;
  // Connections refused or closed by a limit, for /metrics.
  struct Counters {
    uint64_t refused_max_connections = 0;
    uint64_t refused_per_address = 0;
    uint64_t auth_timeouts = 0;
    uint64_t frame_timeouts = 0;
    uint64_t partial_frames_refused = 0;
  } counters;
};

}  // namespace cercle::net

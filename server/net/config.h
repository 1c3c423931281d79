// ServerConfig: every setting of cercle-server, with its default, read from a TOML file and then
// overridden by command-line flags. The documented example is deploy/cercle.toml.
// Plain values; parsing is pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/api/hub.h"
#include "server/common/result.h"
#include "server/domain/types.h"

namespace cercle::net {

// [push]: Web Push to devices with no connection (docs/self-hosting.md).
struct PushConfig {
  bool enabled = true;
  // The contact push services may write to (VAPID): "mailto:..." or "https://...". Empty: the
  // association's page; with neither, push stays off (the server says so at start).
  std::string subject;
  // Tests only: endpoints on plain http and private addresses (a push-service double on
  // 127.0.0.1). On a real instance it would let anyone make the relay call its own network.
  bool allow_insecure_endpoints_for_tests = false;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  std::string web_dir;          // Empty: no static files.
  std::string admin_socket;     // Empty: <data_dir>/admin.sock.
  std::string tls_certificate;  // PEM chain; with tls_key, the server speaks only TLS.
  std::string tls_key;
  uint32_t handshake_timeout_s = 10;
  uint32_t idle_timeout_s = 60;
  size_t send_queue_bytes = 1 << 20;
  uint32_t write_stall_s = 30;  // A connection whose writes make no progress this long is dropped.
  uint32_t max_connections = 20000;
  // Open connections from one address (IPv4, or IPv6 /64); behind a trusted proxy, the WebSockets
  // of one forwarded address.
  uint32_t max_connections_per_address = 64;
  // A WebSocket must say hello and authenticate (or register) within this time; answering pings
  // does not extend it.
  uint32_t auth_timeout_s = 30;
  // A message whose first bytes arrived must be whole within this time.
  uint32_t frame_timeout_s = 30;
  // Bytes that all connections together may hold for messages not yet whole (those up to 4 KiB
  // not counted); a connection that needs more is closed (1013, try again later).
  size_t partial_frames_bytes = 32 << 20;
  bool sync = true;  // fsync before acknowledging writes.
  uint32_t cursor_flush_ms = 200;
  std::string log_level = "info";
  bool metrics_public = false;  // /metrics answers only loopback clients unless true.
  // Reverse proxies (on this machine, usually 127.0.0.1) whose X-Forwarded-For names the client,
  // for per-address rate limits and /metrics. Empty: the TCP peer is the client.
  std::vector<std::string> trusted_proxies;
  // Tests only: `cercle-admin clock advance` may move the server's clock forward.
  bool test_clock = false;
  uint32_t retention_check_s = 600;  // How often messages past a group's retention are erased.
  domain::Config domain;
  api::ApiLimits api;
  api::RateLimits rates;
  PushConfig push;
};

// Reads a TOML file into `config` (keys absent from the file keep their value). Errors:
// kInvalidArgument naming the file, key and problem.
[[nodiscard]] Status load_config_file(const std::string& path, ServerConfig& config);

// Applies command-line flags after the optional --config file. `args` excludes the program name.
// Errors: kInvalidArgument with a usage hint.
[[nodiscard]] Status apply_flags(const std::vector<std::string>& args, ServerConfig& config);

// Parses "HOST:PORT" (HOST may be "[v6]"). Errors: kInvalidArgument.
[[nodiscard]] Status parse_listen(const std::string& text, ServerConfig& config);

inline constexpr const char* kUsage =
    "usage: cercle-server [--config FILE] [--listen HOST:PORT] [--data DIR] [--web DIR]\n"
    "                     [--registration open|invite-code] [--sync true|false] [--log-level L]\n"
    "                     [--tls-certificate FILE --tls-key FILE] [--test-clock true|false]\n"
    "Instance administration: cercle-admin --help\n";

}  // namespace cercle::net

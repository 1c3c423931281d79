// Transport: one WebSocket connection from a client to a Cercle server (ws:// or wss://), driven
// by its caller: nothing runs in the background, every wait is bounded by the caller's timeout.
// wss:// verifies the server's certificate against the system's trust store (or a given CA file)
// and its host name.
// One thread; not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/sdk/result.h"

namespace cercle::client {

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path = "/ws";
};

// Parses ws://HOST[:PORT][/PATH] or wss://... Errors: kInvalidArgument.
Result<Endpoint> parse_url(std::string_view url);

class Transport {
 public:
  // Connects and completes the WebSocket handshake within `timeout`. `ca_file`: PEM file of
  // certificate authorities to trust instead of the system's (tests, private deployments).
  // Errors: kNetwork.
  static Result<std::unique_ptr<Transport>> connect(const Endpoint& endpoint,
                                                    std::chrono::milliseconds timeout,
                                                    const std::string& ca_file = {});
  virtual ~Transport() = default;

  // Queues one binary message; it is written while the caller waits in receive().
  virtual void send(std::string message) = 0;
  // Writes what is queued and returns the next message received, or nullopt when none arrived
  // within `timeout`. Errors: kNetwork (the connection is lost).
  virtual Result<std::optional<std::string>> receive(std::chrono::milliseconds timeout) = 0;
  virtual bool is_open() const = 0;
  // Sends a close frame and waits for the server's, at most `timeout`.
  virtual void close(std::chrono::milliseconds timeout) = 0;
};

}  // namespace cercle::client

// BaselineServer: the reference the relay is measured against. A raw Boost.Beast WebSocket fan-out
// server with no authentication, no protobuf and no persistence, written the plain way (a queue per
// connection, one write in flight, one WebSocket message per delivery).
//
// Protocol: a text message "join G" puts the connection in group G (answered "ok"); each binary
// message is sent as is to every other member of the sender's group, and the sender gets a
// one-byte binary "A" as its acknowledgement.
//
// Runs on its own thread and io_context, started by start() and ended by the destructor.
#pragma once

#include <cstdint>
#include <memory>

namespace cercle::bench {

class BaselineServer {
 public:
  BaselineServer();
  ~BaselineServer();
  // Listens on 127.0.0.1 (a free port) and serves on a new thread. Returns the port.
  uint16_t start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cercle::bench

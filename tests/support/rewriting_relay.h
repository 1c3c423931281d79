// RewritingRelay: a WebSocket man in the middle that plays a server lying in its answers. Clients
// connect to it (ws://127.0.0.1:port()/ws) as to a server; it forwards everything both ways to the
// real cercle-server at 127.0.0.1:server_port, and passes every Response the server sends through
// the test's rewrite function first (for instance to change the AccountInfo of LookupAccount and
// FetchKeyPackages answers). Deliveries and events pass unchanged.
//
// The relay runs its own io thread; the public calls are safe from the test's thread, and the
// rewrite function runs on the io thread. Stopping is bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proto/cercle.pb.h"

namespace cercle::testing {

class RewritingRelay {
 public:
  using Rewrite = std::function<void(v1::Response&)>;

  // Listens on 127.0.0.1 (port 0). Returns nullptr if it cannot listen; `error` says why.
  static std::unique_ptr<RewritingRelay> start(uint16_t server_port, std::string* error = nullptr);
  ~RewritingRelay();
  RewritingRelay(const RewritingRelay&) = delete;
  RewritingRelay& operator=(const RewritingRelay&) = delete;

  uint16_t port() const;
  // Every Response from now on goes through `rewrite` (an empty function: none).
  void set_rewrite(Rewrite rewrite);

  struct Impl;

 private:
  explicit RewritingRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cercle::testing

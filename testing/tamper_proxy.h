// TamperingRelay: a WebSocket man in the middle that plays a compromised Cercle server, for tests
// that check what honest clients do when the server lies to them.
//
// Clients connect to it (ws://127.0.0.1:port()/ws) as to a server; it opens one connection to the
// real cercle-server for each of them and forwards every message both ways. Once armed, when the
// attacker's device sends a Commit for the armed conversation, it forwards the request (the real
// server judges it) and also delivers that commit to every other connection that reads the
// conversation, as a COMMIT entry, exactly as a server that accepted it would, and hands its
// Welcome to the devices it adds (a Send, once armed for one, is delivered with its kind). The real
// log never holds that entry, so from then on the relay renumbers what each of those devices sees
// (testing/shifted_view.h) to keep their logs without gap or duplicate.
//
// The relay runs its own io thread; the public calls are safe from the test's thread. Every wait is
// bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/cercle.pb.h"

namespace cercle::testing {

class TamperingRelay {
 public:
  // Listens on 127.0.0.1 (port 0) for clients of the server at 127.0.0.1:server_port. Returns
  // nullptr if it cannot listen; `error` says why.
  static std::unique_ptr<TamperingRelay> start(uint16_t server_port, std::string* error = nullptr);
  ~TamperingRelay();
  TamperingRelay(const TamperingRelay&) = delete;
  TamperingRelay& operator=(const TamperingRelay&) = delete;

  uint16_t port() const;

  // The next Commit for `conversation` (its raw 16-byte id) sent by a device of the account
  // `attacker` (its handle) is injected into everyone else's connection.
  void arm(const std::string& attacker, const std::string& conversation);
  // Likewise for the next Send (an application message or a proposal, delivered with its kind):
  // for what the real server refuses on that path.
  void arm_send(const std::string& attacker, const std::string& conversation);

  struct Injection {
    std::string
        victim;  // The handle of the device that received it ("HANDLE (welcome)": the Welcome).
    uint64_t seq = 0;  // The seq it had for that device.
  };
  // Every injection so far.
  std::vector<Injection> injections() const;

  // A server lying in its answers: every Response from now on goes through `rewrite` (on the
  // relay's io thread) before the client sees it; an empty function stops rewriting.
  using Rewrite = std::function<void(v1::Response&)>;
  void set_rewrite(Rewrite rewrite);
  // A server lying in what it delivers live: every Delivery from now on goes through `rewrite` (on
  // the relay's io thread) before the client sees it; an empty function stops rewriting.
  using DeliveryRewrite = std::function<void(v1::Delivery&)>;
  void set_delivery_rewrite(DeliveryRewrite rewrite);

  struct Impl;

 private:
  explicit TamperingRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cercle::testing

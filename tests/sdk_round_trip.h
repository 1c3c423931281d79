// events_before_round_trip(): the sync point that proves "nothing (more) arrives" for an SDK
// client. The client sends a request (ListInvitations: any request will do) and processes whatever
// reached it before the answer. The relay answers a connection's requests in order, after anything
// it had already queued for that device, and a request's effects on other devices are queued before
// or with its own answer (the reasoning is on WsClient::nothing_before_round_trip()): so once the
// request that must change nothing was answered, what it returns is everything it could have
// caused. One thread, like the Client.
#pragma once

#include <chrono>
#include <vector>

#include "client/sdk/client.h"

namespace cercle::testing {

// The events `c` produced from what arrived before the answer to a request it sends now.
inline client::Result<std::vector<client::Event>> events_before_round_trip(client::Client& c) {
  if (auto r = c.invitations(); !r.ok()) return std::move(r).error();
  return c.poll(std::chrono::milliseconds(0));
}

}  // namespace cercle::testing

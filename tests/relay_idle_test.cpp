// Idle connections against the real server. Between messages an idle plain connection waits for
// its socket to become readable, with no WebSocket read pending, and takes the pongs to the
// server's pings itself (server/net/ws_session.cpp): a client that answers pings stays connected
// past the idle timeout and is answered afterwards, and one that does not answer is dropped.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

class RelayIdleTest : public RelayFixture {};

TEST_F(RelayIdleTest, PongsKeepAnIdleConnectionOpenAndItStillAnswers) {
  // Pings go to connections quiet for half the idle timeout; silent ones are dropped after it.
  start_server({"--config", write_config("[limits]\nidle_timeout_s = 5\n")});
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));

  // Alice's client runs (its WebSocket answers pings); bob's does not read at all.
  const auto start = std::chrono::steady_clock::now();
  alice.ws->drain(std::chrono::seconds(8));
  ASSERT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));

  EXPECT_FALSE(alice.ws->is_closed());
  v1::ClientFrame list;
  list.mutable_list_conversations();
  auto r = alice.ws->call(list);
  ASSERT_TRUE(r) << "no answer after the idle period\n" << server_->log();
  EXPECT_FALSE(r->has_error()) << r->error().message();
  EXPECT_TRUE(r->has_conversations());

  // Without pongs, the same idle period ends the connection.
  EXPECT_TRUE(bob.ws->wait_closed(std::chrono::seconds(5)));
}

}  // namespace
}  // namespace cercle::testing

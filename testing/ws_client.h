// WsClient: a WebSocket client of the Cercle protocol for integration tests. It keeps one read
// outstanding and sorts what arrives into responses (by request id), deliveries and events. Every
// wait is bounded. One thread; each client has its own io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "proto/cercle.pb.h"
#include "testing/mls_member.h"

namespace cercle::testing {

using namespace std::chrono_literals;

// An Ed25519 device key pair.
struct DeviceKey {
  DeviceKey();
  std::string public_key() const;
  std::string sign(std::string_view message) const;
  unsigned char pk[32];
  unsigned char sk[64];
};

class WsClient {
 public:
  // Connects to ws://127.0.0.1:port/ws. Returns nullptr when it cannot within the timeout.
  static std::unique_ptr<WsClient> connect(uint16_t port, std::chrono::milliseconds timeout = 5s);
  // Like connect(), with the socket's receive buffer set to `receive_buffer_bytes` before it
  // connects, so that a client that stops reading pushes back on the server after a few KiB
  // instead of after megabytes of kernel buffering.
  static std::unique_ptr<WsClient> connect_small_buffer(uint16_t port, int receive_buffer_bytes,
                                                        std::chrono::milliseconds timeout = 5s);
  ~WsClient();

  // Sends raw bytes as one WebSocket message (binary unless `text`).
  bool send_raw(std::string_view bytes, bool text = false);
  // Sends the frame, giving it a fresh request id unless it has one; returns the id.
  uint64_t send(v1::ClientFrame frame);
  // Waits for the response to request `id`.
  std::optional<v1::Response> wait_response(uint64_t id, std::chrono::milliseconds timeout = 5s);
  // send() then wait_response().
  std::optional<v1::Response> call(v1::ClientFrame frame, std::chrono::milliseconds timeout = 5s);

  // Waits for the next delivery (in arrival order).
  std::optional<v1::Delivery> next_delivery(std::chrono::milliseconds timeout = 5s);
  // Waits until `n` deliveries are queued, then returns them all.
  std::vector<v1::Delivery> deliveries(size_t n, std::chrono::milliseconds timeout = 5s);
  std::optional<v1::Event> next_event(std::chrono::milliseconds timeout = 5s);
  // The sync point that proves "nothing arrives": call it once the event that must not reach this
  // client is over, i.e. after the device that caused it got its answer (a SendResult, a
  // CommitResult, an error). It sends a request the relay answers at once (ListConversations; any
  // answer will do, an error before authentication too) and succeeds when that answer is the first
  // thing to arrive and no delivery or event received earlier is left untaken.
  //
  // Why the answer comes after anything the event would have caused: the relay runs every session
  // on one io thread and answers a connection's frames in the order it reads them; a connection
  // writes its frames in the order they were queued (only adjacent deliveries are coalesced). A
  // request's effects on other devices are queued with its answer, never after it: a durable
  // write's completion answers the requester, then publishes the entry in the same call
  // (server/domain/conversations.cpp append(): the SendResult or CommitResult, then
  // Conversations::publish and the Hub's fan-out to every connected recipient; a key package fetch
  // answers, then sends KeyPackagesLow), and a refused request publishes nothing. So once the
  // requester holds its answer, whatever the relay meant to send this client for it is already in
  // this client's queue, ahead of the answer to a request this client sends only now. A stream
  // still catching up from storage reads its next slice when a write of the connection completes;
  // the relay runs that completion before it reads a request the client could only send after
  // receiving what that write carried, so a catching-up stream's next entries come first too.
  [[nodiscard]] ::testing::AssertionResult nothing_before_round_trip(
      std::chrono::milliseconds timeout = 5s);
  // Runs the client for `duration` (it answers pings, collects frames): for tests where time itself
  // must pass (idle timeouts, a stall clock). Never a proof that nothing arrives: that is
  // nothing_before_round_trip().
  void drain(std::chrono::milliseconds duration);

  // Waits until the server closes the connection. Returns true if it did, with its close code.
  bool wait_closed(std::chrono::milliseconds timeout = 5s, int* close_code = nullptr);
  bool is_closed() const { return closed_; }

  // Protocol steps. Each returns nullopt on a timeout; errors come back in the Response.
  std::optional<v1::Response> hello();
  // Register with the account's link 0 (the device adds itself), signed over the handle in NFC.
  std::optional<v1::Response> register_device(const DeviceKey& key, std::string_view handle,
                                              std::string_view code = {});
  std::optional<v1::Response> authenticate(const DeviceKey& key);
  std::optional<v1::Response> new_challenge();

  // hello + register; returns the AuthResult or nullopt (and records why in last_error()).
  std::optional<v1::AuthResult> hello_and_register(const DeviceKey& key, std::string_view handle,
                                                   std::string_view code = {});
  std::optional<v1::AuthResult> hello_and_authenticate(const DeviceKey& key);
  const std::string& last_error() const { return last_error_; }

  const v1::HelloResult& hello_result() const { return hello_result_; }
  std::string transcript() const;

 private:
  WsClient();
  struct Impl;
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout);
  void start_read();
  void on_frame(std::string_view bytes);

  std::unique_ptr<Impl> impl_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, v1::Response> responses_;
  std::deque<v1::Delivery> deliveries_;
  std::deque<v1::Event> events_;
  // nothing_before_round_trip(): its request, and what was queued when its answer arrived.
  uint64_t sync_id_ = 0;
  size_t deliveries_before_sync_ = 0;
  size_t events_before_sync_ = 0;
  bool closed_ = false;
  int close_code_ = 0;
  v1::HelloResult hello_result_;
  std::string challenge_;
  std::string last_error_;
};

// Frame builders for the common requests.
v1::ClientFrame send_frame(const std::string& conv, uint64_t epoch, std::string payload);
// A Commit request carrying `commit` (an MLS commit, or bytes a test wants refused).
v1::ClientFrame commit_frame(const std::string& conv, uint64_t epoch, std::string commit,
                             std::vector<uint64_t> add = {}, std::vector<uint64_t> remove = {},
                             std::string welcome = {});
// A Commit request carrying `commit`: its message, its Welcome and, for a group's first commit,
// the group's start (genesis), as an honest client sends them.
v1::ClientFrame commit_frame(const std::string& conv, uint64_t epoch,
                             const MlsMember::Commit& commit, std::vector<uint64_t> add = {},
                             std::vector<uint64_t> remove = {});
v1::ClientFrame create_group_frame();
v1::ClientFrame ack_frame(const std::string& conv, uint64_t seq);

// The error code of a response, or ERROR_CODE_UNSPECIFIED if it is a result.
v1::ErrorCode error_of(const std::optional<v1::Response>& r);

}  // namespace cercle::testing

// Session: the protocol state of one device connection. It parses client frames, checks them
// strictly, runs the hello/challenge/authentication steps, dispatches requests to the domain and
// answers each with exactly one response. Once authenticated it streams every conversation the
// device reads: first what is stored after its cursor, in order, then live entries, with no gap and
// no duplicate.
//
// Owned by its transport connection, which outlives it; lives on the io_context thread. Completion
// callbacks hold Connection::life() (a weak reference to the connection) and do nothing once it
// expired.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/cercle.pb.h"
#include "server/api/connection.h"
#include "server/api/hub.h"

namespace cercle::api {

class Session {
 public:
  Session(Hub& hub, Connection& connection) : hub_(hub), connection_(connection) {}
  // `peer`: the client's IP address, for per-address rate limits.
  void set_peer(PeerAddress peer) { peer_ = peer; }
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One complete binary message from the client.
  void on_frame(std::string_view bytes);
  // A message over the frame limit was received and discarded; `request_id` was read from its
  // first bytes (0 if none).
  void on_frame_too_large(uint64_t request_id);
  // A text message: the protocol is binary only.
  void on_text_frame(std::string_view bytes);
  // The connection's send queue fell under the catch-up low-water mark.
  void on_drained();
  // False while too many requests wait for durable writes: the transport stops reading until
  // resume_input() is called on it.
  bool wants_input() const { return inflight_ < hub_.limits().max_inflight; }
  // The transport is gone; no frame can be sent any more.
  void on_closed();

  // Called by the Hub: a durable entry of `conv` for this device.
  void deliver_live(const ConvId& conv, uint64_t seq, const SharedFrame& frame);
  void push_event(const SharedFrame& frame);
  // Closes the connection (after what is queued).
  void close(CloseReason reason) { connection_.close(reason); }

  DeviceId device() const { return device_; }
  // Whether the connection authenticated (or registered): until then it has a deadline.
  bool authenticated() const { return phase_ == Phase::kAuthenticated; }
  // Added to the authentication deadline: a new device waiting for its request to be approved
  // (which takes a person comparing codes) may wait as long as the request lives.
  uint32_t auth_grace_ms() const { return pairing_grace_ms_; }

 private:
  enum class Phase : uint8_t { kNew, kHello, kAuthenticating, kAuthenticated, kClosed };
  struct Stream {
    ConvId conv;
    uint64_t delivered = 0;  // Last entry sent on this connection.
    uint64_t upto = 0;       // 0, or the last entry it may read (it was removed).
    bool live = false;       // Caught up: entries now come from the Hub.
  };
  template <class T>
  using Done = std::function<void(Result<T>)>;

  void dispatch(const v1::ClientFrame& frame);
  bool check_phase(uint64_t id, v1::ClientFrame::RequestCase kind);
  void respond(const v1::Response& response);
  void fail(uint64_t request_id, const Error& error);
  // Runs an asynchronous domain call; `answer` fills the response from its value.
  template <class T, class Call, class Fill>
  void run_async(uint64_t id, Call call, Fill fill);

  void on_hello(uint64_t id, const v1::Hello& hello);
  void on_get_challenge(uint64_t id);
  void on_register(uint64_t id, const v1::Register& request);
  void on_authenticate(uint64_t id, const v1::Authenticate& request);
  void on_authenticated(const domain::AuthInfo& info);
  void on_request(uint64_t id, const v1::ClientFrame& frame);
  void on_add_device(uint64_t id, const v1::AddDevice& request);
  void on_lookup_account(uint64_t id, const v1::LookupAccount& request);
  void on_upload_key_packages(uint64_t id, const v1::UploadKeyPackages& request);
  void on_fetch_key_packages(uint64_t id, const v1::FetchKeyPackages& request);
  void on_count_key_packages(uint64_t id);
  void on_conversation_request(uint64_t id, const v1::ClientFrame& frame);
  void on_commit(uint64_t id, const v1::Commit& request);
  void on_send(uint64_t id, const v1::Send& request);
  void on_fetch_log(uint64_t id, const v1::FetchLog& request);
  void on_admin_request(uint64_t id, const v1::ClientFrame& frame);
  void on_delete_account(uint64_t id, const v1::DeleteAccount& request);
  void on_contact_link_request(uint64_t id, const v1::ClientFrame& frame);
  void on_resolve_contact_link(uint64_t id, const v1::ResolveContactLink& request);
  void on_group_request(uint64_t id, const v1::ClientFrame& frame);
  void on_group_conversation_request(uint64_t id, const v1::ClientFrame& frame);
  void on_group_list_request(uint64_t id, const v1::ClientFrame& frame);
  void on_report_request(uint64_t id, const v1::ClientFrame& frame);
  // RequestDevice, ListDeviceRequests, PostPairingNonce, GetDeviceRequest (device_handlers.cpp).
  void on_device_request(uint64_t id, const v1::ClientFrame& frame);
  void on_new_device_request(uint64_t id, const v1::RequestDevice& request);
  // RegisterPushSubscription, UnregisterPushSubscription (push_handlers.cpp).
  void on_push_request(uint64_t id, const v1::ClientFrame& frame);
  void push_waiting();

  std::string new_challenge();
  std::string transcript() const;
  Stream* stream(const ConvId& conv);
  void own_entry(const ConvId& conv, uint64_t seq);
  void pump_catchup();
  size_t catchup_low_water() const;
  bool catch_up(Stream& s);

  Hub& hub_;
  Connection& connection_;
  Phase phase_ = Phase::kNew;
  uint32_t inflight_ = 0;
  DeviceId device_ = 0;
  AccountId account_ = 0;
  PeerAddress peer_;
  // The connection's current challenge, only while it is not authenticated: null once used.
  std::unique_ptr<std::string> challenge_;
  // Names this connection to DeviceRequests once it asked to become a device (0 until then): only
  // this connection follows its request until it authenticates.
  uint64_t pairing_token_ = 0;
  uint32_t pairing_grace_ms_ = 0;
  std::vector<Stream> streams_;
  bool pumping_ = false;
};

template <class T, class Call, class Fill>
inline void Session::run_async(uint64_t id, Call call, Fill fill) {
  ++inflight_;
  call([this, life = connection_.life(), id, fill = std::move(fill)](Result<T> result) mutable {
    const auto alive = life.lock();
    if (!alive || phase_ == Phase::kClosed) return;
    const bool was_full = !wants_input();
    --inflight_;
    if (!result) {
      fail(id, result.error());
    } else {
      v1::Response response;
      response.set_request_id(id);
      fill(result.value(), response);
      respond(response);
    }
    if (was_full && wants_input()) connection_.resume_input();
  });
}

}  // namespace cercle::api

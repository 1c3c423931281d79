// CercleWorkload: the benchmark's clients of the Cercle relay. Registers devices, authenticates
// them, forms groups with real MLS (one creates the group and commits the others in with their
// KeyPackages; they join from the Welcome), then sends application messages and acknowledges
// deliveries as a real client does. Every message is a real MLS PrivateMessage (the relay refuses
// anything else): each sender encrypts it; with `crypto` each receiver also decrypts it, else it
// reads only the send time the message carries in the clear (its authenticated data).
//
// During a run, clients behave as real ones when the relay closes their connection (a consumer
// whose queue passed its limit is shed): they reconnect, authenticate again and catch up from their
// cursor, dropping what they already had by (conversation, seq). A sender sends again, in order,
// the messages whose acknowledgement it had not received, once its catch-up reached the
// conversation's head: the ones it finds on the way, its own entries, were stored. A message stored
// while it asked for the head may still go twice; as the relay executes a connection's requests in
// order, receivers drop such copies because their send time is not after the last one they counted
// from that sender.
// Runs on the calling thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "bench/workload.h"
#include "testing/mls_member.h"
#include "testing/ws_client.h"

namespace cercle::bench {

class CercleWorkload final : public Workload {
 public:
  CercleWorkload(uint16_t port, bool crypto = false) : Workload(port), crypto_(crypto) {}

  bool setup(const RunOptions& options) override;

  // Registers `n` devices (one account each), leaving them connected and authenticated.
  bool register_all(int n, int concurrency);
  // Opens a new authenticated connection for every registered device. Returns the seconds taken,
  // or a negative value on failure.
  double authenticate_all(int concurrency);
  // Closes every connection and waits until the server has seen them go.
  void close_all();

 protected:
  void send_message(int index, std::string payload) override;
  bool failed() const override { return failed_ > 0; }
  void annotate(RunResult& result) const override;

 private:
  enum Kind : uint64_t {
    kHello = 1,
    kRegister,
    kAuthenticate,
    kCreate,
    kCommit,
    kSend,
    kAck,
    kUpload,
    kHead
  };
  // A message sent and not yet acknowledged: kept to be sent again on the next connection.
  struct Unacked {
    std::string payload;
    uint64_t request_id = 0;  // 0: not sent on the current connection.
  };
  struct Peer {
    testing::DeviceKey key;
    std::unique_ptr<testing::MlsMember> mls;
    std::string key_package;  // Uploaded, for the group's leader to add this peer.
    bool uploaded = false;
    uint64_t device_id = 0;
    std::string conv;
    uint64_t epoch = 0;
    uint64_t counter = 0;
    uint64_t last_seq = 0;  // Last entry received: entries up to it come again after a reconnect.
    uint64_t unacked = 0;
    bool authenticated = false;
    bool in_group = false;
    uint32_t generation = 0;  // Of its connection: callbacks of a closed one are ignored.
    std::deque<Unacked> sending;
    // After a reconnect: what it had not had acknowledged waits until the catch-up reached the
    // conversation's head as it was then (its own entries on the way are acknowledgements).
    bool catching_up = false;
    uint64_t resend_after = 0;  // The head to reach; 0 until GetConversation answered.
    // By sender device, the send time of the last message counted from it.
    std::vector<std::pair<uint64_t, std::string>> last_counted;
  };

  bool connect_batch(int concurrency, bool registering);
  void start_peer(int index, bool registering);
  void on_message(int index, std::string_view bytes, bool registering);
  void on_response(int index, const v1::Response& r, bool registering);
  void on_hello(int index, const v1::HelloResult& hello, bool registering);
  void on_authenticated(int index, const v1::AuthResult& auth);
  void on_delivery(int index, const v1::Delivery& d);
  void on_application(int index, const v1::Delivery& d);
  bool counted_before(Peer& peer, uint64_t sender, const std::string& send_time);
  void on_sent(int index, uint64_t request_id);
  void on_own_entry(int index, const v1::Delivery& d);
  void resend(int index);
  void transmit(int index, Unacked& message);
  void on_lost(int index);
  void reconnect(int index);
  void request(int index, Kind kind, v1::ClientFrame& frame);
  bool form_groups(int group_size);
  bool upload_key_packages(int group_size);

  const bool crypto_;
  std::vector<Peer> peers_;
  int uploaded_ = 0;
  std::vector<std::string> welcomes_;  // By leader index.
  std::string instance_id_;
  int authenticated_ = 0;
  int in_group_ = 0;
  int failed_ = 0;
  int started_ = 0;
  int closed_ = 0;
  bool reconnecting_ = false;  // Set during a run: a closed connection comes back.
  uint64_t connections_lost_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t resent_ = 0;
  uint64_t duplicates_ = 0;
};

}  // namespace cercle::bench

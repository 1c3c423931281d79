// CercleWorkload: the benchmark's clients of the Cercle relay. Registers devices, authenticates
// them, forms groups with real MLS (one creates the group and commits the others in with their
// KeyPackages; they join from the Welcome), then sends application messages and acknowledges
// deliveries as a real client does. Every message is a real MLS PrivateMessage (the relay refuses
// anything else): each sender encrypts it; with `crypto` each receiver also decrypts it, else it
// reads only the send time the message carries in the clear (its authenticated data).
// Runs on the calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/workload.h"
#include "tests/support/mls_member.h"
#include "tests/support/ws_client.h"

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

 private:
  enum Kind : uint64_t {
    kHello = 1,
    kRegister,
    kAuthenticate,
    kCreate,
    kCommit,
    kSend,
    kAck,
    kUpload
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
    uint64_t last_seq = 0;
    uint64_t unacked = 0;
    bool authenticated = false;
    bool in_group = false;
  };

  bool connect_batch(int concurrency, bool registering);
  void start_peer(int index, bool registering);
  void on_message(int index, std::string_view bytes, bool registering);
  void on_response(int index, const v1::Response& r, bool registering);
  void on_delivery(int index, const v1::Delivery& d);
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
};

}  // namespace cercle::bench

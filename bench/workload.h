// Workload: the benchmark's client side. N connections form groups of K; each connection sends its
// share of M messages (with at most `window` unacknowledged, or at a fixed global rate), and every
// delivery's latency is measured from the send time carried in its payload. Two protocols share the
// run loop: the Cercle relay (CercleWorkload) and the raw Beast baseline (BaselineWorkload).
// Runs on the calling thread, with its own io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/ws_conn.h"

namespace cercle::bench {

struct RunOptions {
  int connections = 1000;
  int group_size = 8;
  uint64_t messages = 200'000;
  size_t payload_bytes = 256;
  double rate = 0;  // Messages per second across all senders; 0: as fast as the window allows.
  int window = 8;   // Unacknowledged messages per connection (max-rate mode).
  std::chrono::seconds timeout{120};
};

struct RunResult {
  bool complete = false;
  std::string reason;  // Why not complete: empty when it is.
  double seconds = 0;
  uint64_t sent = 0;
  uint64_t deliveries = 0;
  // Connections the server closed during the run (a consumer shed for its queue), reconnections
  // made, messages sent again after one (their acknowledgement was lost with the connection), and
  // deliveries dropped as already received (by conversation and seq, or a message sent again).
  uint64_t connections_lost = 0;
  uint64_t reconnects = 0;
  uint64_t resent = 0;
  uint64_t duplicates = 0;
  std::vector<uint32_t> latency_us;
};

class Workload {
 public:
  explicit Workload(uint16_t port);
  virtual ~Workload() = default;

  // Connects every connection and forms the groups. Returns false (with why()) on failure.
  virtual bool setup(const RunOptions& options) = 0;
  // Sends the messages and waits for every delivery.
  RunResult run(const RunOptions& options);
  const std::string& why() const { return why_; }
  // Points later connections at another port (the same server, restarted).
  void retarget(uint16_t port) { endpoint_.port(port); }

 protected:
  // Sends one message of `payload` from connection `index`.
  virtual void send_message(int index, std::string payload) = 0;
  // A client failed beyond repair (why() says how): the run stops.
  virtual bool failed() const { return false; }
  // Adds the client's own counts (reconnections...) to a finished run.
  virtual void annotate(RunResult&) const {}
  // To be called by subclasses.
  void on_acked(int index);
  void on_delivered(std::string_view payload);
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout);
  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  bool fail(std::string why) {
    why_ = std::move(why);
    return false;
  }

  boost::asio::io_context ioc_{1};
  std::vector<std::shared_ptr<WsConn>> conns_;

 private:
  void send_next(int index);
  void tick();

  boost::asio::ip::tcp::endpoint endpoint_;
  std::string why_;
  RunOptions options_;
  std::vector<uint64_t> quota_;
  std::vector<int> outstanding_;
  uint64_t sent_ = 0;
  uint64_t expected_ = 0;
  RunResult result_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_delivery_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  size_t rr_ = 0;
};

template <class Pred>
bool Workload::run_until(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (ioc_.stopped()) ioc_.restart();
    if (ioc_.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) {
      return pred();
    }
  }
  return true;
}

// Returns the baseline workload against a BaselineServer.
std::unique_ptr<Workload> make_baseline_workload(uint16_t port);

}  // namespace cercle::bench

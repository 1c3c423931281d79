// The benchmark's clients of the raw Beast baseline server (see baseline_server.h for its
// protocol).
#include "bench/workload.h"

namespace cercle::bench {

namespace {

class BaselineWorkload final : public Workload {
 public:
  explicit BaselineWorkload(uint16_t port) : Workload(port) {}

  bool setup(const RunOptions& options) override {
    const int n = options.connections;
    conns_.assign(n, nullptr);
    int joined = 0, failed = 0;
    for (int i = 0; i < n; ++i) {
      auto conn = WsConn::create(ioc_);
      conns_[i] = conn;
      conn->on_message([this, i, &joined](std::string_view bytes) {
        if (bytes == "ok") {
          ++joined;
        } else if (bytes == "A") {
          on_acked(i);
        } else {
          on_delivered(bytes);
        }
      });
      const std::string group = "join " + std::to_string(i / options.group_size);
      conn->connect(endpoint(), [conn, group, &failed](bool ok) {
        if (!ok) return void(++failed);
        conn->send(group, true);
      });
      // Bounded concurrency, as for the relay.
      if (i % 256 == 255)
        run_until([&] { return joined > i - 64 || failed > 0; }, std::chrono::seconds(30));
    }
    if (!run_until([&] { return joined >= n || failed > 0; }, std::chrono::seconds(30)) || failed) {
      return fail("baseline connections failed");
    }
    // The callbacks hold references to the counters above: from now on only the run loop's remain
    // meaningful, so rebind the handlers without them.
    for (int i = 0; i < n; ++i) {
      conns_[i]->on_message([this, i](std::string_view bytes) {
        if (bytes == "A") {
          on_acked(i);
        } else {
          on_delivered(bytes);
        }
      });
    }
    return true;
  }

 protected:
  void send_message(int index, std::string payload) override {
    conns_[index]->send(std::move(payload));
  }
};

}  // namespace

std::unique_ptr<Workload> make_baseline_workload(uint16_t port) {
  return std::make_unique<BaselineWorkload>(port);
}

}  // namespace cercle::bench

// Runtime: one relay without its network, built as server/net/server.cpp builds it (a Store in a
// folder, a GroupCommitter, the Hub as the domain's Outbox, the Domain), whose completions run on
// the calling thread when it drains them: the calling thread plays the server's io_context.
// Opening a store is slow, so a runtime serves several inputs while they change nothing: each
// input starts with a fresh Hub (no rate limit spent, nobody online) and the clock at kStartMs.
// For the fuzz fixture only (see README.md); one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "server/api/hub.h"
#include "cercle/base/clock.h"
#include "server/domain/domain.h"

namespace cercle::relay_fuzz {

// Every clock of the fixture starts here (2026-01-01T00:00Z): the system clock the MLS library
// reads (see freeze_time), the relay's ManualClock (moved when an input says so).
inline constexpr int64_t kStartMs = 1'767'225'600'000;

// Replaces libsodium's random source by a seeded stream read from `position` on, so that keys,
// ids, challenges, key packages and MLS messages are the same on every run (and in the corpus
// generator). Call before anything uses libsodium, then again to restart the stream.
void use_deterministic_random(uint64_t position);

// While frozen, the system clock (as the MLS library reads it) stays on kStartMs; otherwise it runs
// from there at the real pace. See runtime.cpp.
void freeze_time(bool frozen);

// Aborts the process with `what` on stderr: an invariant of the relay does not hold (libFuzzer
// records the input).
[[noreturn]] void fail(const std::string& what);

class Runtime {
 public:
  Runtime(const std::filesystem::path& dir, const domain::Config& config, int64_t now_ms);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Runs completions until every write submitted so far, and every write their completions
  // submitted, is done. Aborts when writes never settle.
  void drain();

  // Calls `call(done)` and drains until `done` ran.
  template <class T, class Call>
  Result<T> await(Call call) {
    std::optional<Result<T>> out;
    call([&](Result<T> r) { out.emplace(std::move(r)); });
    drain();
    if (!out) fail("a domain call never completed");
    return std::move(*out);
  }

  // Starts an input: the clock back at kStartMs and a fresh Hub. The previous Hub must have no
  // session left.
  void begin_input();
  // Batches written so far, the drains' own excluded.
  uint64_t writes() const { return committer_->stats().batches - sentinels_; }

  ManualClock& clock() { return clock_; }
  api::Hub& hub() { return *hub_; }
  domain::Domain& domain() { return *domain_; }
  storage::Store& store() { return *store_; }

 private:
  // The domain's Outbox: the current Hub.
  class Forward final : public domain::Outbox {
   public:
    explicit Forward(Runtime& rt) : rt_(rt) {}
    void publish(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                 std::span<const DeviceId> recipients) override {
      rt_.hub_->publish(conv, seq, record, recipients);
    }
    size_t notify(std::span<const DeviceId> devices, const v1::Event& event) override {
      return rt_.hub_->notify(devices, event);
    }

   private:
    Runtime& rt_;
  };

  void post(std::function<void()> fn);
  // Runs the oldest posted completion, waiting for one until the deadline. False on timeout.
  bool run_one(std::chrono::steady_clock::time_point deadline);

  ManualClock clock_;
  std::unique_ptr<api::Hub> hub_;
  Forward forward_{*this};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  std::unique_ptr<domain::Domain> domain_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> posted_;
  uint64_t ran_ = 0;        // Posted completions run so far.
  uint64_t sentinels_ = 0;  // Batches drain() wrote.
};

}  // namespace cercle::relay_fuzz

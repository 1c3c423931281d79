// Wall-clock time for records (message timestamps, code expiry). Tests replace it to move time.
// The system clock is safe on any thread; a ManualClock is for one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cercle {

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns milliseconds since the Unix epoch.
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

// The system clock moved forward by an offset that only a test instance changes (cercle-server
// --test-clock, then cercle-admin clock advance): lets integration tests reach expiries and
// retention periods without waiting. Safe on any thread.
class AdjustableClock final : public Clock {
 public:
  int64_t now_ms() const override { return system_.now_ms() + offset_ms_.load(); }
  void advance_ms(int64_t ms) { offset_ms_ += ms; }

 private:
  SystemClock system_;
  std::atomic<int64_t> offset_ms_{0};
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace cercle

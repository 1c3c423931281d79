#include "bench/workload.h"

#include <algorithm>
#include <cstring>

namespace cercle::bench {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Workload::Workload(uint16_t port) : endpoint_(boost::asio::ip::make_address("127.0.0.1"), port) {}

RunResult Workload::run(const RunOptions& options) {
  options_ = options;
  result_ = {};
  result_.latency_us.reserve(options.messages * static_cast<uint64_t>(options.group_size - 1));
  const int n = static_cast<int>(conns_.size());
  quota_.assign(n, options.messages / n);
  for (uint64_t i = 0; i < options.messages % n; ++i) quota_[i] += 1;
  outstanding_.assign(n, 0);
  sent_ = 0;
  expected_ = 0;
  for (int i = 0; i < n; ++i) {
    // The last group may be smaller when n is not a multiple of the group size.
    const int members =
        std::min(options.group_size, n - (i / options.group_size) * options.group_size);
    expected_ += quota_[i] * static_cast<uint64_t>(members - 1);
  }
  start_ = last_delivery_ = std::chrono::steady_clock::now();
  if (options.rate > 0) {
    timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
    tick();
  } else {
    for (int i = 0; i < n; ++i) {
      for (int w = 0; w < options.window; ++w) send_next(i);
    }
  }
  result_.complete =
      run_until([&] { return result_.deliveries >= expected_ || failed(); }, options.timeout) &&
      result_.deliveries >= expected_;
  if (!result_.complete) {
    result_.reason = failed() ? why_
                              : "timed out after " + std::to_string(options.timeout.count()) +
                                    " s: " + std::to_string(result_.deliveries) + " of " +
                                    std::to_string(expected_) + " deliveries";
  }
  if (timer_) timer_->cancel();
  // Let acknowledgements and cancelled timers settle so that the next phase starts clean.
  run_until([&] { return false; }, std::chrono::milliseconds(200));
  timer_.reset();
  result_.sent = sent_;
  annotate(result_);
  result_.seconds = std::chrono::duration<double>(last_delivery_ - start_).count();
  return std::move(result_);
}

void Workload::send_next(int index) {
  if (quota_[index] == 0) return;
  --quota_[index];
  ++outstanding_[index];
  ++sent_;
  std::string payload(std::max<size_t>(options_.payload_bytes, 8), 'x');
  const int64_t ts = now_ns();
  std::memcpy(payload.data(), &ts, sizeof ts);
  send_message(index, std::move(payload));
}

void Workload::tick() {
  // Open loop: the schedule does not wait for acknowledgements.
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto target = static_cast<uint64_t>(elapsed * options_.rate);
  const size_t n = conns_.size();
  for (size_t tries = 0; sent_ < target && tries < n;) {
    const size_t i = rr_++ % n;
    if (quota_[i] == 0) {
      ++tries;
      continue;
    }
    tries = 0;
    send_next(static_cast<int>(i));
  }
  if (sent_ >= options_.messages) return;
  timer_->expires_after(std::chrono::microseconds(500));
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void Workload::on_acked(int index) {
  --outstanding_[index];
  if (options_.rate == 0) send_next(index);
}

void Workload::on_delivered(std::string_view payload) {
  if (payload.size() < 8) return;
  int64_t ts;
  std::memcpy(&ts, payload.data(), sizeof ts);
  const int64_t ns = now_ns() - ts;
  result_.latency_us.push_back(static_cast<uint32_t>(std::max<int64_t>(ns / 1000, 0)));
  ++result_.deliveries;
  last_delivery_ = std::chrono::steady_clock::now();
}

}  // namespace cercle::bench

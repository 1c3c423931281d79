#include "server/fuzz/runtime.h"

#include <sodium.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace {
std::atomic<bool> g_time_frozen{false};

int64_t real_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

// The MLS library stamps key packages and leaves with the system clock. In the fuzz and replay
// programs only, this definition takes the place of libstdc++'s: the clock reads kStartMs while
// frozen (the world and the corpus are built then, so that key package refs and signatures are the
// same whenever they run), and otherwise runs at the real pace from kStartMs on (libFuzzer times
// its runs with it).
std::chrono::system_clock::time_point std::chrono::system_clock::now() noexcept {
  static const int64_t shift_ns = real_ns() - cercle::relay_fuzz::kStartMs * 1'000'000;
  const int64_t ns =
      g_time_frozen.load() ? cercle::relay_fuzz::kStartMs * 1'000'000 : real_ns() - shift_ns;
  return time_point(std::chrono::duration_cast<duration>(std::chrono::nanoseconds(ns)));
}

namespace cercle::relay_fuzz {

namespace {

uint64_t g_position = 0;
const unsigned char kSeed[randombytes_SEEDBYTES] = {'c', 'e', 'r', 'c', 'l', 'e',
                                                    '-', 'r', 'e', 'l', 'a', 'y'};

void det_buf(void* buf, size_t size) {
  unsigned char seed[randombytes_SEEDBYTES];
  std::memcpy(seed, kSeed, sizeof seed);
  std::memcpy(seed + 16, &g_position, sizeof g_position);
  ++g_position;
  randombytes_buf_deterministic(buf, size, seed);
}
uint32_t det_random() {
  uint32_t v;
  det_buf(&v, sizeof v);
  return v;
}
const char* det_name() { return "cercle-relay-fuzz-deterministic"; }

randombytes_implementation g_impl = {det_name, det_random, nullptr, nullptr, det_buf, nullptr};

}  // namespace

void use_deterministic_random(uint64_t position) {
  static const bool installed = [] {
    randombytes_set_implementation(&g_impl);
    return sodium_init() >= 0;
  }();
  if (!installed) fail("libsodium did not start");
  g_position = position;
}

void freeze_time(bool frozen) { g_time_frozen = frozen; }

void fail(const std::string& what) {
  std::fprintf(stderr, "relay fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

Runtime::Runtime(const std::filesystem::path& dir, const domain::Config& config, int64_t now_ms)
    : clock_(now_ms) {
  hub_ = std::make_unique<api::Hub>(api::ApiLimits{}, api::RateLimits{}, clock_);
  auto store = storage::Store::open({dir.string()});
  if (!store) fail("cannot open the store: " + store.error().message);
  store_ = std::move(store).value();
  committer_ = std::make_unique<storage::GroupCommitter>(
      *store_, false, [this](std::function<void()> fn) { post(std::move(fn)); },
      [](const Error& e) { fail("storage failed: " + e.message); });
  domain_ = std::make_unique<domain::Domain>(
      config, *store_, *committer_, clock_, forward_,
      [this](DeviceId device, uint32_t stored) { hub_->key_packages_low(device, stored); });
  hub_->bind(*domain_);
  if (auto loaded = domain_->load(); !loaded)
    fail("cannot load the state: " + loaded.error().message);
}

Runtime::~Runtime() {
  domain_->conversations().flush_cursors();
  committer_->stop();
  std::deque<std::function<void()>> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(posted_);
  }
  for (auto& fn : rest) fn();
  domain_.reset();
  committer_.reset();
  store_.reset();
}

void Runtime::begin_input() {
  clock_.advance_ms(kStartMs - clock_.now_ms());
  hub_ = std::make_unique<api::Hub>(api::ApiLimits{}, api::RateLimits{}, clock_);
  hub_->bind(*domain_);
}

void Runtime::post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  posted_.push_back(std::move(fn));
  cv_.notify_one();
}

bool Runtime::run_one(std::chrono::steady_clock::time_point deadline) {
  std::function<void()> fn;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return !posted_.empty(); })) return false;
    fn = std::move(posted_.front());
    posted_.pop_front();
  }
  ++ran_;
  fn();
  return true;
}

// Completions run in submission order. A sentinel (an empty batch) submitted last completes after
// every earlier write; the writes are settled once a round wrote the sentinel alone and ran no
// completion but its own.
void Runtime::drain() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 0; round < 1000; ++round) {
    bool done = false;
    const uint64_t batches = committer_->stats().batches;
    const uint64_t ran = ran_;
    committer_->submit(store_->batch(), [&done](const Status&) { done = true; });
    while (!done) {
      if (!run_one(deadline)) fail("a write never completed (20 s)");
    }
    ++sentinels_;
    if (committer_->stats().batches == batches + 1 && ran_ == ran + 1) return;
  }
  fail("writes never settle: every completion submits another write");
}

}  // namespace cercle::relay_fuzz

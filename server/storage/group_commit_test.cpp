// GroupCommitter through its interface, on a real RocksDB store in a temporary folder: what is
// submitted while the writer is busy is written as one group, completions run on the completion
// executor (never on the writer thread) in submission order and only once their batch is written,
// stop() writes what was submitted, and a failed write reaches every callback of its group and
// on_fatal.
#include "server/storage/group_commit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

namespace cercle::storage {
namespace {

using namespace std::chrono_literals;

// The completion executor of a test: `post` queues, the test thread runs what was queued. While it
// is held, the writer thread blocks in `post` (it has written and synced its group), so that what
// is submitted meanwhile piles up for the next round.
class Executor {
 public:
  GroupCommitter::Post post() {
    return [this](std::function<void()> fn) {
      std::unique_lock lock(mu_);
      ++posts_;
      queue_.push_back(std::move(fn));
      cv_.notify_all();
      cv_.wait(lock, [&] { return !held_; });
    };
  }
  void hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    held_ = false;
    cv_.notify_all();
  }
  // Waits until `n` posts were made (10 s at most).
  bool wait_posts(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return posts_ >= n; });
  }
  // Runs every queued completion on the calling thread; returns how many closures ran.
  int run() {
    std::deque<std::function<void()>> ready;
    {
      std::lock_guard lock(mu_);
      ready.swap(queue_);
    }
    for (auto& fn : ready) fn();
    return static_cast<int>(ready.size());
  }
  int posts() {
    std::lock_guard lock(mu_);
    return posts_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int posts_ = 0;
  bool held_ = false;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cercle-group-commit-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto r = Store::open({dir_.string()});
    ASSERT_TRUE(r.ok()) << r.error().message;
    store_ = std::move(r).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static ConvId conv(uint8_t b) {
    ConvId id;
    id.bytes.fill(b);
    return id;
  }

  // A batch appending entry `seq` of conversation 1 with `payload`.
  WriteBatch entry(uint64_t seq, std::string payload = "x") {
    auto batch = store_->batch();
    LogRecord r;
    r.set_kind(1);
    r.set_payload(std::move(payload));
    batch.append_log(conv(1), seq, r);
    return batch;
  }

  uint64_t head() { return *store_->last_log_seq(conv(1)); }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(GroupCommitTest, WhatIsSubmittedWhileTheWriterIsBusyIsWrittenAsOneGroup) {
  Executor ex;
  GroupCommitter committer(*store_, true, ex.post(), nullptr);
  ex.hold();
  committer.submit(entry(1), [](const Status&) {});
  ASSERT_TRUE(ex.wait_posts(1));  // The writer wrote the first group and waits in post.
  for (uint64_t seq = 2; seq <= 6; ++seq) committer.submit(entry(seq), [](const Status&) {});
  EXPECT_EQ(committer.stats().queued, 5u);
  ex.release();
  ASSERT_TRUE(ex.wait_posts(2));
  EXPECT_EQ(ex.run(), 2) << "one closure per group, each running all of its completions";
  const auto stats = committer.stats();
  EXPECT_EQ(stats.groups, 2u);
  EXPECT_EQ(stats.batches, 6u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(head(), 6u);
}

TEST_F(GroupCommitTest, CompletionsRunOnTheExecutorInSubmissionOrderOnceWritten) {
  for (const bool sync : {true, false}) {
    SCOPED_TRACE(sync ? "sync" : "no sync");
    TearDown();
    SetUp();
    Executor ex;
    GroupCommitter committer(*store_, sync, ex.post(), nullptr);
    const auto test_thread = std::this_thread::get_id();
    std::vector<uint64_t> order;
    constexpr uint64_t kBatches = 50;
    for (uint64_t seq = 1; seq <= kBatches; ++seq) {
      committer.submit(entry(seq), [&, seq](const Status& s) {
        EXPECT_TRUE(s.ok()) << s.error().message;
        EXPECT_EQ(std::this_thread::get_id(), test_thread) << "a completion ran off the executor";
        EXPECT_GE(head(), seq) << "completion before its batch was written";
        order.push_back(seq);
      });
    }
    // Nothing runs until the executor does, however long the writer has been done.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (committer.stats().batches < kBatches && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(committer.stats().batches, kBatches);
    EXPECT_TRUE(order.empty());
    ex.run();
    ASSERT_EQ(order.size(), kBatches);
    for (uint64_t i = 0; i < kBatches; ++i) EXPECT_EQ(order[i], i + 1);
  }
}

TEST_F(GroupCommitTest, StopWritesWhatWasSubmittedThenRefusesMore) {
  Executor ex;
  std::vector<Errc> results;
  {
    GroupCommitter committer(*store_, true, ex.post(), nullptr);
    for (uint64_t seq = 1; seq <= 20; ++seq) {
      committer.submit(entry(seq),
                       [&](const Status& s) { results.push_back(s ? Errc{} : s.error().code); });
    }
    committer.stop();  // Returns once the writer wrote everything and ended.
    EXPECT_EQ(committer.stats().batches, 20u);
    EXPECT_EQ(head(), 20u);
    committer.submit(entry(21),
                     [&](const Status& s) { results.push_back(s ? Errc{} : s.error().code); });
    committer.stop();  // Idempotent.
  }
  ex.run();
  ASSERT_EQ(results.size(), 21u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(results[i], Errc{}) << i;
  EXPECT_EQ(results[20], Errc::kShuttingDown);
  EXPECT_EQ(head(), 20u);
}

// While alive, no file of this process may grow past `bytes` (writes past it fail with EFBIG
// instead of raising SIGXFSZ): a disk that refuses writes, for the write-ahead log of a real store.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &lim) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool ok_ = false;
};

TEST_F(GroupCommitTest, AFailedWriteReachesEveryCallbackOfItsGroupAndOnFatal) {
  Executor ex;
  std::vector<Error> fatal;
  GroupCommitter committer(*store_, true, ex.post(), [&](const Error& e) { fatal.push_back(e); });
  ex.hold();
  committer.submit(entry(1), [](const Status&) {});
  ASSERT_TRUE(ex.wait_posts(1));
  std::vector<Status> results;
  auto record = [&](const Status& s) { results.push_back(s); };
  // The second group: a small batch, one larger than the disk lets the log grow, a small one.
  committer.submit(entry(2), record);
  committer.submit(entry(3, std::string(4 << 20, 'z')), record);
  committer.submit(entry(4), record);
  {
    const auto wal_bytes = [&] {
      uintmax_t largest = 0;
      for (const auto& f : std::filesystem::directory_iterator(dir_))
        if (f.is_regular_file()) largest = std::max(largest, f.file_size());
      return largest;
    }();
    FileSizeLimit limit(wal_bytes + (1 << 20));
    ASSERT_TRUE(limit.ok());
    ex.release();
    ASSERT_TRUE(ex.wait_posts(2));
    committer.stop();
  }
  ex.run();
  ASSERT_EQ(results.size(), 3u);
  for (const auto& s : results) {
    ASSERT_FALSE(s.ok()) << "a completion of the failed group was told its write was durable";
    EXPECT_EQ(s.error().code, Errc::kInternal);
  }
  ASSERT_EQ(fatal.size(), 1u);
  EXPECT_EQ(fatal[0].code, Errc::kInternal);
  EXPECT_EQ(fatal[0].message, results[0].error().message);
}

}  // namespace
}  // namespace cercle::storage

#include "server/storage/group_commit.h"

#include <utility>

namespace cercle::storage {

GroupCommitter::GroupCommitter(Store& store, bool sync, Post post,
                               std::function<void(const Error&)> on_fatal)
    : store_(store), sync_(sync), post_(std::move(post)), on_fatal_(std::move(on_fatal)) {
  thread_ = std::thread([this] { run(); });
}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::submit(WriteBatch batch, Callback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(batch), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  if (done) {
    post_([done = std::move(done)] {
      done(make_error(Errc::kShuttingDown, "the server is stopping"));
    });
  }
}

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

void GroupCommitter::run() {
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopping, and everything submitted was written.
      group.swap(queue_);
    }
    Status status = Ok{};
    // Each batch is written without sync, then one fsync covers them all: the write-ahead log is
    // sequential, so syncing it makes every earlier write durable.
    for (auto& p : group) {
      status = store_.write(p.batch, false);
      if (!status) break;
    }
    if (status && sync_) status = store_.sync_wal();
    {
      std::lock_guard lock(mu_);
      ++stats_.groups;
      stats_.batches += group.size();
    }
    if (!status && on_fatal_) on_fatal_(status.error());
    std::vector<Callback> callbacks;
    callbacks.reserve(group.size());
    for (auto& p : group) {
      if (p.done) callbacks.push_back(std::move(p.done));
    }
    group.clear();
    if (!callbacks.empty()) {
      post_([callbacks = std::move(callbacks), status]() mutable {
        for (auto& cb : callbacks) cb(status);
      });
    }
  }
}

}  // namespace cercle::storage

// GroupCommitter: makes writes durable in groups. Callers submit WriteBatches from any thread; one
// writer thread applies everything that arrived while the previous group was being synced, then
// syncs the write-ahead log once, then reports every completion through `post`. This is the
// "group commit" of the relay: one fsync per tick, however many messages arrived in it.
//
// Completions run wherever `post` sends them (the server posts them to its io_context), in
// submission order. A failed write is reported to every callback of its group and to `on_fatal`:
// after a storage failure the in-memory state no longer matches the disk, so the server must stop.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "server/common/result.h"
#include "server/storage/store.h"

namespace cercle::storage {

class GroupCommitter {
 public:
  using Callback = std::function<void(const Status&)>;
  using Post = std::function<void(std::function<void()>)>;

  struct Stats {
    uint64_t groups = 0;
    uint64_t batches = 0;
    size_t queued = 0;  // Submitted and not yet taken by the writer.
  };

  // sync: whether each group is fsync'd before its completions run (the durable-ack mode).
  GroupCommitter(Store& store, bool sync, Post post, std::function<void(const Error&)> on_fatal);
  ~GroupCommitter();  // Calls stop().
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues the batch. `done` (may be empty) runs through `post` once the batch is durable, or
  // failed. After stop(), the batch is refused: `done` gets kShuttingDown.
  void submit(WriteBatch batch, Callback done);

  // Writes everything already submitted, then ends the writer thread. Idempotent.
  void stop();

  Stats stats() const;

 private:
  struct Pending {
    WriteBatch batch;
    Callback done;
  };
  void run();

  Store& store_;
  const bool sync_;
  Post post_;
  std::function<void(const Error&)> on_fatal_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace cercle::storage

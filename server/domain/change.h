// Change: one atomic change of the relay's state, as a service makes it: the write batch and the
// in-memory updates that go with it. A service stages both together (a record into batch(), the
// matching update of its own maps through on_commit()); commit() applies every staged update and
// hands the batch to the GroupCommitter in the same step, so memory never holds a change whose
// batch was not submitted, nor the reverse. A Change dropped without commit() changes nothing.
//
// Updates are applied when commit() is called, not when the batch is durable: the next request
// sees them at once (a second device link at the same seq is a conflict), while the caller's
// completion still runs only once the batch is durable, as GroupCommitter::submit reports it.
// Lives on the domain's thread; not thread-safe. Movable, not copyable.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "server/storage/group_commit.h"
#include "server/storage/store.h"

namespace cercle::domain {

class Change {
 public:
  explicit Change(storage::WriteBatch batch) : batch_(std::move(batch)) {}
  Change(Change&&) = default;
  Change& operator=(Change&&) = default;

  // Where the records of this change go.
  storage::WriteBatch& batch() { return batch_; }
  // Stages an update of memory, applied by commit() in the order staged.
  void on_commit(std::function<void()> apply) { applies_.push_back(std::move(apply)); }
  bool empty() const { return batch_.empty() && applies_.empty(); }

  // Applies the staged updates, then submits the batch; `done` (may be empty) runs once the batch
  // is durable or failed. Consumes the change.
  void commit(storage::GroupCommitter& committer, storage::GroupCommitter::Callback done) && {
    for (auto& apply : applies_) apply();
    applies_.clear();
    committer.submit(std::move(batch_), std::move(done));
  }

 private:
  storage::WriteBatch batch_;
  std::vector<std::function<void()>> applies_;
};

}  // namespace cercle::domain

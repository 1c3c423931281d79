// Context: what every domain service works with: the configuration, the store and the group-commit
// writer its changes go to, the clock. It holds no state of its own: each service owns its maps.
// Lives on the domain's thread; outlives the services.
#pragma once

#include "cercle/base/clock.h"
#include "server/domain/change.h"
#include "server/domain/types.h"
#include "server/storage/group_commit.h"
#include "server/storage/store.h"

namespace cercle::domain {

struct Context {
  const Config& config;
  storage::Store& store;
  storage::GroupCommitter& committer;
  const Clock& clock;

  // An empty change on this store (change.h).
  Change change() const { return Change(store.batch()); }
};

}  // namespace cercle::domain

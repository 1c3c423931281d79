// Helpers of the services' loaders (Identity, KeyPackages, Conversations): a record that does not
// parse, or names an account, device or conversation that does not exist, means the data folder
// was damaged, and start-up stops with kInternal rather than run without it. Domain thread.
#pragma once

#include <string>
#include <utility>

#include "server/common/result.h"

namespace cercle::domain::loading {

inline Error damaged(std::string what) {
  return make_error(Errc::kInternal, "stored " + std::move(what));
}

// Runs `scan` with a visitor that may fail: the first failure is returned (the scan goes on, but
// nothing after it is kept).
template <class Scan>
Status scan_checked(Scan&& scan) {
  Status first = Ok{};
  auto visited = scan([&](Status s) {
    if (first && !s) first = std::move(s);
  });
  if (!visited) return visited;
  return first;
}

}  // namespace cercle::domain::loading

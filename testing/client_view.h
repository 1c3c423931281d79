// What SDK clients show of a group, and bounded waits on them, for integration tests that check
// that an attack left every honest member's group as it was. Test thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "client/sdk/client.h"

namespace cercle::testing {

inline constexpr std::chrono::seconds kClientWait{10};  // Bound of every wait that must end.

// The raw conversation id (what the wire carries) from the SDK's hex id.
inline std::string raw_id(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Polls `c` until `done()` (at most kClientWait); every event it yields goes to `events`.
template <class Done>
bool poll_until(client::Client& c, Done done, std::vector<client::Event>* events = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + kClientWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    auto got = c.poll(std::chrono::milliseconds(100));
    if (!got.ok()) return false;
    if (events) events->insert(events->end(), got->begin(), got->end());
  }
  return true;
}

// Polls `c` until its `conv` is at `epoch` or later (at most kClientWait); events go to `events`.
inline bool reach_epoch(client::Client& c, const std::string& conv, uint64_t epoch,
                        std::vector<client::Event>* events = nullptr) {
  return poll_until(
      c,
      [&] {
        auto e = c.epoch(conv);
        return e.ok() && *e >= epoch;
      },
      events);
}

// What a member's client says the group is.
struct GroupView {
  uint64_t epoch = 0;
  std::string authenticator;
  std::vector<std::string> members;  // Handles, sorted.
  bool operator==(const GroupView&) const = default;
};

inline void PrintTo(const GroupView& v, std::ostream* os) {
  *os << "epoch " << v.epoch << ", authenticator " << v.authenticator << ", members";
  for (const auto& m : v.members) *os << " " << m;
}

inline GroupView view_of(const client::Client& c, const std::string& conv) {
  GroupView v;
  if (auto e = c.epoch(conv); e.ok()) v.epoch = *e;
  if (auto a = c.epoch_authenticator(conv); a.ok()) v.authenticator = *a;
  if (auto m = c.members(conv); m.ok()) {
    for (const auto& member : *m) v.members.push_back(member.handle);
  }
  std::sort(v.members.begin(), v.members.end());
  return v;
}

}  // namespace cercle::testing

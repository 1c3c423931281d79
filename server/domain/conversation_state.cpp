#include "server/domain/conversation_state.h"

#include <algorithm>

namespace cercle::domain {

namespace {

template <class Vec>
auto find_member(Vec& members, DeviceId device) {
  return std::lower_bound(members.begin(), members.end(), device,
                          [](const auto& m, DeviceId d) { return m.first < d; });
}

}  // namespace

bool MemberState::reads(uint64_t seq) const {
  if (seq > join_seq && (left_seq == 0 || seq <= left_seq)) return true;
  return std::any_of(earlier.begin(), earlier.end(),
                     [&](const auto& p) { return seq > p.first && seq <= p.second; });
}

std::optional<std::pair<uint64_t, uint64_t>> MemberState::readable_after(uint64_t after,
                                                                         uint64_t durable) const {
  for (const auto& [join, left] : earlier) {
    const uint64_t upto = std::min(left, durable);
    if (after < upto) return std::make_pair(std::max(after, join), upto);
  }
  const uint64_t upto = active() ? durable : std::min(left_seq, durable);
  if (after < upto) return std::make_pair(std::max(after, join_seq), upto);
  return std::nullopt;
}

MemberState* ConvState::member(DeviceId device) {
  auto it = find_member(members, device);
  return (it != members.end() && it->first == device) ? &it->second : nullptr;
}

const MemberState* ConvState::member(DeviceId device) const {
  auto it = find_member(members, device);
  return (it != members.end() && it->first == device) ? &it->second : nullptr;
}

MemberState& ConvState::add_member(DeviceId device, MemberState m) {
  auto it = find_member(members, device);
  if (it != members.end() && it->first == device) {
    it->second = m;
    return it->second;
  }
  return members.insert(it, {device, m})->second;
}

void ConvState::erase_member(DeviceId device) {
  auto it = find_member(members, device);
  if (it != members.end() && it->first == device) members.erase(it);
}

DeviceId ConvState::device_at(uint32_t leaf) const {
  for (const auto& [device, m] : members) {
    if (m.active() && m.leaf == leaf) return device;
  }
  return 0;
}

size_t ConvState::active_members() const {
  return static_cast<size_t>(std::count_if(members.begin(), members.end(),
                                           [](const auto& m) { return m.second.active(); }));
}

}  // namespace cercle::domain

#include "server/domain/state.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "server/domain/loading.h"
#include "server/domain/public_groups.h"

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

ConvState* State::conversation(const ConvId& id) {
  auto it = conversations.find(id);
  return it == conversations.end() ? nullptr : &it->second;
}

ConvId State::new_conv_id() const {
  for (;;) {
    ConvId id;
    randombytes_buf(id.bytes.data(), id.bytes.size());
    if (!conversations.contains(id)) return id;
  }
}

// Each loader reads one record kind (loading.h).
using loading::damaged;
using loading::scan_checked;

Status State::load_conversations(const storage::Store& store) {
  auto scanned = scan_checked([&](auto report) {
    return store.scan_conversations([&](const ConvId& id, const storage::ConversationRecord& r) {
      ConvState c;
      c.id = id;
      c.kind = static_cast<ConvKind>(r.kind());
      c.epoch = r.epoch();
      c.created_ms = r.created_ms();
      c.accounts.assign(r.accounts().begin(), r.accounts().end());
      if (!r.policy().empty() && !c.policy.emplace().ParseFromString(r.policy())) {
        return report(damaged("group rules do not parse"));
      }
      c.used_invitations.insert(r.used_invitations().begin(), r.used_invitations().end());
      c.revoked_invitations.insert(r.revoked_invitations().begin(), r.revoked_invitations().end());
      c.join_requests.insert(r.join_requests().begin(), r.join_requests().end());
      c.erased_upto = r.erased_upto();
      conversations.emplace(id, std::move(c));
    });
  });
  if (!scanned) return scanned;
  for (auto& [id, conv] : conversations) {
    auto last = store.last_log_seq(id);
    if (!last) return std::move(last).error();
    conv.last_seq = conv.durable_seq = *last;
  }
  return scan_checked([&](auto report) {
    return store.scan_public_groups([&](const ConvId& id, const storage::PublicGroupRecord& r) {
      auto* c = conversation(id);
      if (!c) return report(damaged("public group of no conversation"));
      auto group = public_groups::load(r);
      if (!group) return report(std::move(group).error());
      c->public_group = std::move(*group);
    });
  });
}

Status State::load_members(const storage::Store& store, const Accounts& accounts) {
  auto scanned = scan_checked([&](auto report) {
    return store.scan_members(
        [&](const ConvId& conv_id, DeviceId device, const storage::MemberRecord& r) {
          auto* c = conversation(conv_id);
          if (!c || !accounts.device(device)) {
            return report(damaged("member of no conversation, or no device"));
          }
          MemberState m{r.leaf(), r.join_seq(), r.left_seq(), r.join_seq(), false, {}};
          for (const auto& p : r.earlier()) m.earlier.emplace_back(p.join_seq(), p.left_seq());
          if (!m.earlier.empty()) m.cursor = m.earlier.front().first;
          c->add_member(device, std::move(m));
          device_conversations[device].push_back(conv_id);
        });
  });
  if (!scanned) return scanned;
  // A cursor is deleted with its member (Conversations::forget_if_done): one without is damage.
  return scan_checked([&](auto report) {
    return store.scan_cursors([&](DeviceId device, const ConvId& conv_id, uint64_t seq) {
      auto* c = conversation(conv_id);
      auto* m = c ? c->member(device) : nullptr;
      if (!m) return report(damaged("cursor of no member"));
      m->cursor = std::max(m->cursor, seq);
    });
  });
}

Status State::load_invitations(const storage::Store& store) {
  return scan_checked([&](auto report) {
    return store.scan_invitations(
        [&](const ConvId& conv_id, std::string_view nonce, const storage::InvitationRecord& r) {
          auto* c = conversation(conv_id);
          v1::SignedInvitation signed_invitation;
          InvitationState i;
          if (!c || !signed_invitation.ParseFromString(r.signed_invitation()) ||
              !i.invitation.ParseFromString(signed_invitation.invitation())) {
            return report(damaged("invitation does not parse or names no conversation"));
          }
          i.signed_bytes = r.signed_invitation();
          i.invitee = r.invitee_account();
          i.accepted_ms = r.accepted_ms();
          i.objected = r.objected();
          i.used = r.used();
          i.revoked = r.revoked();
          c->invitations.emplace(std::string(nonce), std::move(i));
        });
  });
}

Status State::load(const storage::Store& store, const Accounts& accounts) {
  if (auto s = load_conversations(store); !s) return s;
  if (auto s = load_members(store, accounts); !s) return s;
  return load_invitations(store);
}

}  // namespace cercle::domain

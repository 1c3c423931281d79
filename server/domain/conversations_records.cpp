// Conversations, its records: their encoding, their loading at start-up, and Groups' changes of
// group records (stage_group).
#include <algorithm>

#include "server/domain/conversations.h"
#include "server/domain/loading.h"
#include "server/domain/public_groups.h"

namespace cercle::domain {

using loading::damaged;
using loading::scan_checked;

void Conversations::write_invitation(const ConvId& conv, const std::string& nonce,
                                     const InvitationState& i, storage::WriteBatch& batch) {
  storage::InvitationRecord r;
  r.set_signed_invitation(i.signed_bytes);
  r.set_invitee_account(i.invitee);
  r.set_accepted_ms(i.accepted_ms);
  r.set_objected(i.objected);
  r.set_used(i.used);
  r.set_revoked(i.revoked);
  r.set_declined(i.declined);
  batch.put_invitation(conv, nonce, r);
}

storage::MemberRecord Conversations::member_record(const MemberState& m) {
  storage::MemberRecord r;
  r.set_leaf(m.leaf);
  r.set_join_seq(m.join_seq);
  r.set_left_seq(m.left_seq);
  for (const auto& [join, left] : m.earlier) {
    auto* p = r.add_earlier();
    p->set_join_seq(join);
    p->set_left_seq(left);
  }
  return r;
}

void Conversations::write_conversation(const ConvHeader& conv, storage::WriteBatch& batch) {
  storage::ConversationRecord r;
  r.set_id(conv.id.str());
  r.set_kind(static_cast<int>(conv.kind));
  r.set_epoch(conv.epoch);
  r.set_created_ms(conv.created_ms);
  for (AccountId a : conv.accounts) r.add_accounts(a);
  if (conv.policy) r.set_policy(conv.policy->SerializeAsString());
  for (const auto& n : conv.used_invitations) r.add_used_invitations(n);
  for (const auto& n : conv.revoked_invitations) r.add_revoked_invitations(n);
  for (AccountId a : conv.join_requests) r.add_join_requests(a);
  r.set_erased_upto(conv.erased_upto);
  r.set_listing(conv.listing);
  write_seance(conv, r);
  batch.put_conversation(conv.id, r);
}

void Conversations::write_seance(const ConvHeader& conv, storage::ConversationRecord& r) {
  const auto& s = conv.seance;
  if (!s.head.empty()) {
    auto* out = r.mutable_seance();
    out->set_head(s.head);
    out->set_open_id(s.open_id);
    out->set_open_seq(s.open_seq);
    out->set_floor(s.floor);
    for (const auto& h : s.hands) out->add_hands(h);
    for (const auto& h : s.confirmed) out->add_confirmed(h);
    out->set_opened_ms(conv.seance_opened_ms);
  }
  for (const auto& e : conv.erasures) {
    auto* out = r.add_erasures();
    out->set_from_seq(e.from_seq);
    out->set_to_seq(e.to_seq);
    out->set_due_ms(e.due_ms);
  }
}

void Conversations::read_seance(const storage::ConversationRecord& r, ConvHeader& conv) {
  const auto& s = r.seance();
  conv.seance.head = s.head();
  conv.seance.open_id = s.open_id();
  conv.seance.open_seq = s.open_seq();
  conv.seance.floor = s.floor();
  conv.seance.hands.insert(s.hands().begin(), s.hands().end());
  conv.seance.confirmed.insert(s.confirmed().begin(), s.confirmed().end());
  conv.seance_opened_ms = s.opened_ms();
  for (const auto& e : r.erasures())
    conv.erasures.push_back({e.from_seq(), e.to_seq(), e.due_ms()});
}

void Conversations::stage_group(Change& change, GroupChange edit) {
  const ConvId& id = edit.header.id;
  write_conversation(edit.header, change.batch());
  for (const auto& [nonce, i] : edit.put) write_invitation(id, nonce, i, change.batch());
  for (const auto& nonce : edit.forget) change.batch().delete_invitation(id, nonce);
  change.on_commit([this, edit = std::move(edit)]() mutable {
    ConvState* conv = find(edit.header.id);
    if (!conv) return;
    static_cast<ConvHeader&>(*conv) = std::move(edit.header);
    for (const auto& nonce : edit.forget) conv->invitations.erase(nonce);
    for (auto& [nonce, i] : edit.put) conv->invitations.insert_or_assign(nonce, std::move(i));
  });
}

Status Conversations::load() {
  if (auto s = load_conversations(); !s) return s;
  if (auto s = load_members(); !s) return s;
  return load_invitations();
}

Status Conversations::load_conversations() {
  auto scanned = scan_checked([&](auto report) {
    return ctx_.store.scan_conversations([&](const ConvId& id,
                                             const storage::ConversationRecord& r) {
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
      c.listing = r.listing();
      read_seance(r, c);
      conversations_.emplace(id, std::move(c));
    });
  });
  if (!scanned) return scanned;
  for (auto& [id, conv] : conversations_) {
    auto last = ctx_.store.last_log_seq(id);
    if (!last) return std::move(last).error();
    conv.last_seq = conv.durable_seq = *last;
  }
  return scan_checked([&](auto report) {
    return ctx_.store.scan_public_groups(
        [&](const ConvId& id, const storage::PublicGroupRecord& r) {
          auto* c = find(id);
          if (!c) return report(damaged("public group of no conversation"));
          auto group = public_groups::load(r);
          if (!group) return report(std::move(group).error());
          c->public_group = std::move(*group);
        });
  });
}

Status Conversations::load_members() {
  auto scanned = scan_checked([&](auto report) {
    return ctx_.store.scan_members(
        [&](const ConvId& conv_id, DeviceId device, const storage::MemberRecord& r) {
          auto* c = find(conv_id);
          if (!c || !identity_.device(device)) {
            return report(damaged("member of no conversation, or no device"));
          }
          MemberState m{r.leaf(), r.join_seq(), r.left_seq(), r.join_seq(), false, {}};
          for (const auto& p : r.earlier()) m.earlier.emplace_back(p.join_seq(), p.left_seq());
          if (!m.earlier.empty()) m.cursor = m.earlier.front().first;
          c->add_member(device, std::move(m));
          by_device_[device].push_back(conv_id);
        });
  });
  if (!scanned) return scanned;
  // A cursor is deleted with its member (Conversations::forget_if_done): one without is damage.
  return scan_checked([&](auto report) {
    return ctx_.store.scan_cursors([&](DeviceId device, const ConvId& conv_id, uint64_t seq) {
      auto* c = find(conv_id);
      auto* m = c ? c->member(device) : nullptr;
      if (!m) return report(damaged("cursor of no member"));
      m->cursor = std::max(m->cursor, seq);
    });
  });
}

Status Conversations::load_invitations() {
  return scan_checked([&](auto report) {
    return ctx_.store.scan_invitations(
        [&](const ConvId& conv_id, std::string_view nonce, const storage::InvitationRecord& r) {
          auto* c = find(conv_id);
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
          i.declined = r.declined();
          c->invitations.emplace(std::string(nonce), std::move(i));
        });
  });
}

}  // namespace cercle::domain

// Client: the events of a groupe de parole (from the group's log and from the server), what the
// client does about them on its own (adding whom it invited once they accepted; in open groups,
// the peers who asked), and keeping the local history to what the group allows.
#include <algorithm>

#include "client/sdk/client_internal.h"

namespace cercle::client {

namespace {

constexpr int64_t kHourMs = 3'600'000;

std::optional<v1::Invitation> tracked(const local::TrackedInvitation& t,
                                      v1::SignedInvitation* s = nullptr) {
  v1::SignedInvitation signed_invitation;
  v1::Invitation i;
  if (!signed_invitation.ParseFromString(t.signed_invitation()) ||
      !i.ParseFromString(signed_invitation.invitation())) {
    return std::nullopt;
  }
  if (s) *s = std::move(signed_invitation);
  return i;
}

bool is_member(const mls::State& state, std::string_view handle) {
  const auto members = state.members();
  return std::any_of(members.begin(), members.end(),
                     [&](const auto& m) { return to_string(m.credential.identity) == handle; });
}

// Whether an invitation shown in group `conv` is for it, named a facilitator of its rules as the
// inviter, and verifies with one of that facilitator's leaf keys; `out` is the invitation read.
template <class IsFacilitator>
bool shown_by_a_facilitator(const Conv& conv, const v1::SignedInvitation& shown,
                            const IsFacilitator& facilitator, v1::Invitation& out) {
  if (!out.ParseFromString(shown.invitation()) || out.conversation_id() != conv.id ||
      !facilitator(out.inviter())) {
    return false;
  }
  for (const auto& m : conv.state->members()) {
    if (to_string(m.credential.identity) != out.inviter()) continue;
    if (policy::verify_invitation(shown, to_string(m.signature_key)).has_value()) return true;
  }
  return false;
}

// What this device knows of the invitation `nonce` of `conv` (only its id when it was revoked or
// used before this device saw it).
Invitation invitation_seen(const Conv& conv, const std::string& nonce) {
  auto it = conv.invitations.find(nonce);
  auto i = it == conv.invitations.end() ? std::nullopt : tracked(it->second);
  if (i) return invitation_view(*i);
  Invitation unknown;
  unknown.id = to_hex(nonce);
  unknown.conversation = to_hex(conv.id);
  return unknown;
}

// What the invitee or a member said of an invitation the group saw (accepted, declined, objected):
// marks the tracked invitation and says it in `out`. False for any other event. Only the relay
// attests these (an invitee has no leaf to sign with): a lying relay could only keep an invitation
// from being used, as it could by refusing the commit, or delay a professional by an objection.
bool invitation_answered(Conv& conv, const v1::GroupEvent& e, int64_t time_ms, Event& out) {
  std::string nonce;
  switch (e.kind_case()) {
    case v1::GroupEvent::kAccepted:
      nonce = e.accepted();
      conv.invitations[nonce].set_accepted(true);
      conv.invitations[nonce].set_accepted_ms(time_ms);
      out.kind = Event::Kind::kInvitationAccepted;
      break;
    case v1::GroupEvent::kDeclined:
      nonce = e.declined();
      conv.invitations[nonce].set_declined(true);
      out.kind = Event::Kind::kInvitationDeclined;
      break;
    case v1::GroupEvent::kObjected:
      nonce = e.objected();
      conv.invitations[nonce].set_objected(true);
      out.kind = Event::Kind::kObjection;
      break;
    default:
      return false;
  }
  out.invitation = invitation_seen(conv, nonce);
  return true;
}

}  // namespace

int64_t Client::Impl::server_now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() +
         server_offset_ms;
}

void Client::Impl::saw_server_time(int64_t server_ms) {
  using namespace std::chrono;
  const int64_t local = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  server_offset_ms = std::max(server_offset_ms, server_ms - local);
}

// Group events are written by the relay; what a member's client can check, it checks: an invitation
// must verify with its inviter's leaf key and come from a facilitator, and deletions and
// revocations must be in a facilitator's name.
void Client::Impl::apply_event(Conv& conv, const v1::Delivery& d) {
  v1::GroupEvent e;
  if (!conv.state || !e.ParseFromString(d.payload()))
    return warn(conv, "a group event could not be read");
  if (e.has_seance()) return apply_seance(conv, e, d);
  const auto rules = group_policy(*conv.state);
  auto facilitator = [&](const std::string& h) {
    return rules && policy::role_of(*rules, h) == v1::FACILITATOR;
  };
  Event out;
  out.conversation = to_hex(conv.id);
  out.by = e.by();
  out.seq = d.seq();
  if (invitation_answered(conv, e, d.server_time_ms(), out)) {
    conv.dirty = true;
    return events.push_back(std::move(out));
  }
  switch (e.kind_case()) {
    case v1::GroupEvent::kInvited: {
      v1::Invitation i;
      if (!shown_by_a_facilitator(conv, e.invited(), facilitator, i))
        return warn(conv,
                    "an invitation shown to the group does not come from a facilitator: ignored");
      conv.invitations[i.nonce()].set_signed_invitation(e.invited().SerializeAsString());
      out.kind = Event::Kind::kInvited;
      out.invitation = invitation_view(i);
      break;
    }
    case v1::GroupEvent::kRevoked:
      if (!facilitator(e.by()))
        return warn(conv, "a revocation not made by a facilitator was ignored");
      conv.invitations[e.revoked()].set_revoked(true);
      out.kind = Event::Kind::kInvitationRevoked;
      out.invitation = invitation_seen(conv, e.revoked());
      break;
    case v1::GroupEvent::kPublished:
      if (auto why = listing_refusal(conv, e.published(), out.detail); !why.empty())
        return warn(conv, why);
      out.kind = Event::Kind::kListingPublished;
      break;
    case v1::GroupEvent::kJoinRequest:
      if (!rules || rules->join_rule() != v1::OPEN_TO_PEERS) return;
      conv.join_requests.insert(e.join_request());
      out.kind = Event::Kind::kJoinRequest;
      out.by = e.join_request();
      break;
    case v1::GroupEvent::kDeletedSeq:
      if (!facilitator(e.by()))
        return warn(conv, "a deletion not made by a facilitator was ignored");
      forget_message(conv, e.deleted_seq());
      out.kind = Event::Kind::kMessageDeleted;
      out.seq = e.deleted_seq();
      break;
    default:
      return;
  }
  conv.dirty = true;
  events.push_back(std::move(out));
}

void Client::Impl::on_server_event(const v1::Event& e) {
  if (e.has_key_packages_low()) {
    (void)top_up_key_packages(kKeyPackageStock);
  } else if (e.has_invitation_received()) {
    v1::SignedInvitation s;
    v1::Invitation i;
    if (!s.ParseFromString(e.invitation_received().signed_invitation()) ||
        !i.ParseFromString(s.invitation()))
      return;
    Event out;
    out.kind = Event::Kind::kInvitation;
    out.invitation = invitation_view(i);
    out.conversation = out.invitation.conversation;
    events.push_back(std::move(out));
  } else if (e.has_report_received()) {
    handle_report(e.report_received());
  } else if (e.has_admin_answer()) {
    Event out;
    out.kind = Event::Kind::kAdminAnswer;
    out.detail = e.admin_answer().text();
    out.seq = e.admin_answer().report_id();
    events.push_back(std::move(out));
  }
}

void Client::Impl::forget_message(const Conv& conv, uint64_t seq) {
  const std::string name = "history/" + to_hex(conv.id);
  auto records = store->read_log(name);
  if (!records) return;
  std::vector<std::string> kept;
  for (auto& raw : *records) {
    local::HistoryEntry h;
    if (h.ParseFromString(raw) && h.seq() == seq) continue;
    kept.push_back(std::move(raw));
  }
  if (kept.size() != records->size() && !store->rewrite_log(name, kept)) {
    warn(conv, "a deleted message could not be removed from this device");
  }
}

void Client::Impl::prune_expired(const Conv& conv) {
  const auto rules = conv.state ? group_policy(*conv.state) : std::nullopt;
  if (!rules || rules->retention_days() == 0) return;
  const int64_t cutoff = server_now_ms() - int64_t{rules->retention_days()} * 24 * kHourMs;
  const std::string name = "history/" + to_hex(conv.id);
  auto records = store->read_log(name);
  if (!records) return;
  std::vector<std::string> kept;
  for (auto& raw : *records) {
    local::HistoryEntry h;
    if (h.ParseFromString(raw) && h.time_ms() < cutoff) continue;
    kept.push_back(std::move(raw));
  }
  if (kept.size() != records->size()) (void)store->rewrite_log(name, kept);
}

void Client::Impl::act_on_requests(Conv& conv) {
  if (acting || !conv.state || conv.left || conv.broken || conv.pending || !conn) return;
  const auto rules = group_policy(*conv.state);
  if (!rules) return;
  acting = true;
  const std::string& me = identity->handle();
  const int64_t now = server_now_ms();
  std::vector<std::pair<std::string, v1::SignedInvitation>> to_add;
  for (const auto& [nonce, t] : conv.invitations) {
    v1::SignedInvitation s;
    const auto i = tracked(t, &s);
    if (!i || i->inviter() != me || !t.accepted() || t.used() || t.revoked() || t.declined() ||
        conv.tried.contains(nonce) || i->expires_at_ms() <= now ||
        is_member(*conv.state, i->invitee())) {
      continue;
    }
    if (i->invitee_type() == v1::INVITEE_PROFESSIONAL &&
        (t.objected() || now < t.accepted_ms() + int64_t{rules->objection_hours()} * kHourMs)) {
      continue;
    }
    to_add.emplace_back(i->invitee(), s);
    conv.tried.insert(nonce);
  }
  for (const auto& [handle, s] : to_add) {
    if (auto r = add_with(conv, handle, &s); !r)
      warn(conv, "could not add " + handle + ": " + r.error().message);
  }
  std::erase_if(conv.join_requests,
                [&](const std::string& h) { return is_member(*conv.state, h); });
  const auto members = conv.state->members();
  const bool lowest = !members.empty() && members.front().leaf_index == conv.state->own_leaf();
  if (rules->join_rule() == v1::OPEN_TO_PEERS && lowest) {
    const std::set<std::string> asking = conv.join_requests;
    for (const auto& h : asking) {
      if (!conv.tried.insert("join:" + h).second) continue;
      if (auto r = add_with(conv, h, nullptr); !r)
        warn(conv, "could not add " + h + ": " + r.error().message);
    }
  }
  acting = false;
}

}  // namespace cercle::client

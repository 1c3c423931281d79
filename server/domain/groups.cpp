#include "server/domain/groups.h"

#include <algorithm>

#include "cercle/policy/policy.h"
#include "server/domain/group_rules.h"
#include "server/domain/handle.h"

namespace cercle::domain {

namespace {

constexpr size_t kMaxPendingInvitations = 200;  // Per group.
// Per group, all states together (invitations last at most 30 days).
constexpr size_t kMaxInvitationRecords = 1000;
constexpr int64_t kMaxInvitationMs =
    30LL * 24 * 3600 * 1000;  // An invitation lasts a month at most.
constexpr size_t kNonceBytes = 16;
constexpr size_t kMaxPublicName = 80;           // Bytes.
constexpr size_t kMaxPublicDescription = 1000;  // Bytes.

Error refused(std::string why) { return make_error(Errc::kForbidden, std::move(why)); }
Error invalid(std::string why) { return make_error(Errc::kInvalidArgument, std::move(why)); }

bool pending(const InvitationState& i, int64_t now_ms) {
  return !i.used && !i.revoked && !i.declined && now_ms < i.invitation.expires_at_ms();
}

bool has_active_device(const ConvState& conv, const AccountState& account) {
  return std::any_of(account.devices.begin(), account.devices.end(), [&](DeviceId d) {
    const MemberState* m = conv.member(d);
    return m && m->active();
  });
}

}  // namespace

AccountType Groups::type_of(DeviceId device) const {
  const AccountState* a = identity_.account_of(device);
  return a ? a->type : AccountType::kPeer;
}

Result<Groups::Found> Groups::group_of(DeviceId actor, const ConvId& conv_id, bool member) const {
  const ConvState* conv = conversations_.conversation(conv_id);
  if (!conv) return make_error(Errc::kNotFound, "no such conversation");
  if (conv->kind != ConvKind::kGroup || !conv->policy) {
    return invalid("this conversation is not a groupe de parole with rules");
  }
  const MemberState* m = conv->member(actor);
  if (member && (!m || !m->active())) return refused("you are not a member of this group");
  return Found{conv, group_rules::handle_of(directory(), actor)};
}

Result<const InvitationState*> Groups::invitation(const ConvState& conv,
                                                  const std::string& nonce) const {
  auto it = conv.invitations.find(nonce);
  if (it == conv.invitations.end()) return make_error(Errc::kNotFound, "no such invitation");
  return &it->second;
}

Result<Groups::InviteeCall> Groups::invitee_call(DeviceId actor, const ConvId& conv_id,
                                                 const std::string& nonce) const {
  auto found = group_of(actor, conv_id, false);
  if (!found) return std::move(found).error();
  auto i = invitation(*found->conv, nonce);
  if (!i) return std::move(i).error();
  const DeviceState* device = identity_.device(actor);
  if (!device || device->account != (*i)->invitee) {
    return refused("this invitation is for someone else");
  }
  return InviteeCall{found->conv, *i};
}

void Groups::notify_account(AccountId account_id, const v1::Event& event) {
  const AccountState* account = identity_.account(account_id);
  if (account) outbox_.notify(account->devices, event);
}

void Groups::record(Change change, Conversations::GroupChange edit, DeviceId actor,
                    v1::GroupEvent event, Done<Ok> done, std::function<void()> after) {
  const ConvId id = edit.header.id;
  conversations_.stage_group(change, std::move(edit));
  event.set_by(group_rules::handle_of(directory(), actor));
  conversations_.append_event(
      id, actor, event, std::move(change),
      [done = std::move(done), after = std::move(after)](Result<uint64_t> r) {
        if (!r) return done(std::move(r).error());
        if (after) after();
        done(Ok{});
      });
}

void Groups::record_invitation(const ConvState& conv, DeviceId actor, const std::string& nonce,
                               InvitationState invitation, v1::GroupEvent event, Done<Ok> done) {
  Conversations::GroupChange edit{conv, {}, {}};
  if (invitation.revoked) edit.header.revoked_invitations.insert(nonce);
  edit.put.emplace_back(nonce, std::move(invitation));
  record(ctx_.change(), std::move(edit), actor, std::move(event), std::move(done));
}

// ---- Invitations -------------------------------------------------------------------------------

Status Groups::check_new_invitation(const ConvState& conv, const Found& found, DeviceId actor,
                                    const v1::SignedInvitation& signed_invitation,
                                    const v1::Invitation& i, AccountId& invitee) const {
  if (policy::role_of(*conv.policy, found.handle) != v1::FACILITATOR ||
      i.inviter() != found.handle) {
    return refused("only a facilitator of the group invites, in their own name");
  }
  // Members check it with the inviter's leaf key: the device's MLS key, which our clients make the
  // device key itself (the one it signs in with) until it has published key packages.
  const std::string key = group_rules::leaf_key(directory(), actor);
  if (key.empty() || !policy::verify_invitation(signed_invitation, key)) {
    return invalid("the invitation is not signed by this device's key");
  }
  const int64_t now = ctx_.clock.now_ms();
  if (i.expires_at_ms() <= now || i.expires_at_ms() > now + kMaxInvitationMs) {
    return invalid("an invitation expires in the future, within 30 days");
  }
  if (i.nonce().size() != kNonceBytes || conv.invitations.contains(i.nonce())) {
    return invalid("the invitation's nonce must be 16 new bytes");
  }
  if (i.charter() != conv.policy->charter())
    return invalid("the invitation must carry the group's charter");
  auto handle = normalize_handle(i.invitee());
  const AccountState* account = handle ? identity_.account_by_key(handle->key) : nullptr;
  if (!account || account->handle != i.invitee())
    return make_error(Errc::kNotFound, "no such account");
  const bool professional = account->type == AccountType::kProfessional;
  if (i.invitee_type() != (professional ? v1::INVITEE_PROFESSIONAL : v1::INVITEE_PEER)) {
    return invalid(std::string("the invitee is ") + (professional ? "a professional" : "a peer"));
  }
  if (policy::is_banned(*conv.policy, account->handle))
    return refused("the invitee is banned from this group");
  if (has_active_device(conv, *account)) return refused("the invitee is already a member");
  const size_t open = std::count_if(conv.invitations.begin(), conv.invitations.end(),
                                    [&](const auto& e) { return pending(e.second, now); });
  if (open >= kMaxPendingInvitations) {
    return make_error(Errc::kLimitReached, "too many pending invitations in this group");
  }
  invitee = account->id;
  return Ok{};
}

void Groups::create_invitation(DeviceId actor, const std::string& signed_bytes, Done<Ok> done) {
  v1::SignedInvitation signed_invitation;
  v1::Invitation i;
  ConvId conv_id;
  if (!signed_invitation.ParseFromString(signed_bytes) ||
      !i.ParseFromString(signed_invitation.invitation()) ||
      !ConvId::parse(i.conversation_id(), conv_id)) {
    return done(invalid("the invitation is unreadable"));
  }
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  AccountId invitee = 0;
  if (auto s = check_new_invitation(conv, *found, actor, signed_invitation, i, invitee); !s) {
    return done(std::move(s).error());
  }
  Change change = ctx_.change();
  Conversations::GroupChange edit{conv, {}, {}};
  if (forget_expired(conv, edit, change) >= kMaxInvitationRecords) {
    return done(
        make_error(Errc::kLimitReached,
                   "too many invitations in this group this month: wait for some to expire"));
  }
  const std::string nonce = i.nonce();
  InvitationState state;
  state.invitation = i;
  state.signed_bytes = signed_bytes;
  state.invitee = invitee;
  edit.put.emplace_back(nonce, std::move(state));
  change.on_commit([this, invitee, id = conv.id, nonce] {
    if (indexed_) invitations_by_[invitee].emplace_back(id, nonce);
  });
  v1::GroupEvent event;
  *event.mutable_invited() = signed_invitation;
  record(std::move(change), std::move(edit), actor, std::move(event), std::move(done),
         [this, invitee, signed_bytes] {
           v1::Event e;
           e.mutable_invitation_received()->set_signed_invitation(signed_bytes);
           notify_account(invitee, e);
         });
}

size_t Groups::forget_expired(const ConvState& conv, Conversations::GroupChange& edit,
                              Change& change) {
  // An expired invitation can no longer be used, whatever became of it (the expiry is checked
  // first), so neither its record nor its nonce needs keeping: a group's invitations stay bounded.
  const int64_t now = ctx_.clock.now_ms();
  for (const auto& [nonce, i] : conv.invitations) {
    if (i.invitation.expires_at_ms() > now) continue;
    edit.forget.push_back(nonce);
    edit.header.used_invitations.erase(nonce);
    edit.header.revoked_invitations.erase(nonce);
    change.on_commit([this, invitee = i.invitee, id = conv.id, nonce] {
      unindex_invitation(invitee, id, nonce);
    });
  }
  return conv.invitations.size() - edit.forget.size();
}

void Groups::revoke_invitation(DeviceId actor, const ConvId& conv_id, const std::string& nonce,
                               Done<Ok> done) {
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  if (policy::role_of(*conv.policy, found->handle) != v1::FACILITATOR) {
    return done(refused("only a facilitator revokes an invitation"));
  }
  auto i = invitation(conv, nonce);
  if (!i) return done(std::move(i).error());
  if ((*i)->used) return done(invalid("this invitation was already used"));
  InvitationState revoked = **i;
  revoked.revoked = true;
  v1::GroupEvent event;
  event.set_revoked(nonce);
  record_invitation(conv, actor, nonce, std::move(revoked), std::move(event), std::move(done));
}

void Groups::accept_invitation(DeviceId actor, const ConvId& conv_id, const std::string& nonce,
                               Done<Ok> done) {
  auto call = invitee_call(actor, conv_id, nonce);
  if (!call) return done(std::move(call).error());
  const ConvState& conv = *call->conv;
  const InvitationState& invited = *call->invitation;
  if (invited.declined) return done(invalid("this invitation was declined"));
  const int64_t now = ctx_.clock.now_ms();
  if (!pending(invited, now))
    return done(invalid("this invitation was revoked, used or has expired"));
  if (invited.accepted_ms != 0) return done(Ok{});  // Accepted already, from another device.
  InvitationState accepted = invited;
  accepted.accepted_ms = now;
  v1::GroupEvent event;
  event.set_accepted(nonce);
  record_invitation(conv, actor, nonce, std::move(accepted), std::move(event), std::move(done));
}

void Groups::decline_invitation(DeviceId actor, const ConvId& conv_id, const std::string& nonce,
                                Done<Ok> done) {
  auto call = invitee_call(actor, conv_id, nonce);
  if (!call) return done(std::move(call).error());
  const ConvState& conv = *call->conv;
  const InvitationState& invited = *call->invitation;
  if (invited.declined) return done(Ok{});  // Declined already, from another device.
  // Accepted but not used yet is still pending: the invitee may change their mind until then.
  if (!pending(invited, ctx_.clock.now_ms())) {
    return done(invalid("this invitation was revoked, used or has expired"));
  }
  InvitationState declined = invited;
  declined.declined = true;
  v1::GroupEvent event;
  event.set_declined(nonce);
  record_invitation(conv, actor, nonce, std::move(declined), std::move(event), std::move(done));
}

void Groups::object_to_invitation(DeviceId actor, const ConvId& conv_id, const std::string& nonce,
                                  Done<Ok> done) {
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  auto i = invitation(conv, nonce);
  if (!i) return done(std::move(i).error());
  if (!pending(**i, ctx_.clock.now_ms()) ||
      (*i)->invitation.invitee_type() != v1::INVITEE_PROFESSIONAL) {
    return done(invalid("one objects only to a professional's pending invitation"));
  }
  InvitationState objected = **i;
  objected.objected = true;
  v1::GroupEvent event;
  event.set_objected(nonce);
  record_invitation(conv, actor, nonce, std::move(objected), std::move(event), std::move(done));
}

void Groups::index_all() {
  indexed_ = true;
  for (const auto& [id, conv] : conversations_.all()) {
    if (open_to_peers(conv)) open_.insert(id);
    for (const auto& [nonce, i] : conv.invitations)
      invitations_by_[i.invitee].emplace_back(id, nonce);
  }
}

bool Groups::open_to_peers(const ConvState& conv) {
  return conv.kind == ConvKind::kGroup && conv.policy &&
         conv.policy->join_rule() == v1::OPEN_TO_PEERS;
}

void Groups::on_commit(const ConvId& conv_id) {
  if (!indexed_) return;  // The first listing indexes everything.
  const ConvState* conv = conversations_.conversation(conv_id);
  if (conv && open_to_peers(*conv)) {
    open_.insert(conv_id);
  } else {
    open_.erase(conv_id);
  }
}

void Groups::unindex_invitation(AccountId invitee, const ConvId& conv, const std::string& nonce) {
  auto it = invitations_by_.find(invitee);
  if (it == invitations_by_.end()) return;
  std::erase_if(it->second, [&](const auto& e) { return e.first == conv && e.second == nonce; });
  if (it->second.empty()) invitations_by_.erase(it);
}

std::vector<std::string> Groups::invitations_for(DeviceId actor) {
  std::vector<std::string> out;
  const DeviceState* device = identity_.device(actor);
  if (!device) return out;
  if (!indexed_) index_all();
  auto it = invitations_by_.find(device->account);
  if (it == invitations_by_.end()) return out;
  const int64_t now = ctx_.clock.now_ms();
  // Invitations used, revoked or expired since they were made leave the index as it is read.
  auto still_pending = [&](const std::pair<ConvId, std::string>& entry) -> const InvitationState* {
    const ConvState* conv = conversations_.conversation(entry.first);
    if (!conv) return nullptr;
    auto i = conv->invitations.find(entry.second);
    return i != conv->invitations.end() && pending(i->second, now) ? &i->second : nullptr;
  };
  std::erase_if(it->second, [&](const auto& entry) {
    const InvitationState* i = still_pending(entry);
    if (i) out.push_back(i->signed_bytes);
    return i == nullptr;
  });
  if (it->second.empty()) invitations_by_.erase(it);
  return out;
}

void Groups::forget_account(Change& change, AccountId account) {
  const int64_t now = ctx_.clock.now_ms();
  for (const auto& [id, conv] : conversations_.all()) {
    Conversations::GroupChange edit{conv, {}, {}};
    bool changed = edit.header.join_requests.erase(account) > 0;
    for (const auto& [nonce, i] : conv.invitations) {
      if (i.invitee != account || !pending(i, now)) continue;
      edit.forget.push_back(nonce);
      edit.header.revoked_invitations.erase(nonce);
      changed = true;
    }
    if (changed) conversations_.stage_group(change, std::move(edit));
  }
  change.on_commit([this, account] { invitations_by_.erase(account); });
}

// ---- Open groups -------------------------------------------------------------------------------

std::vector<OpenGroupView> Groups::open_groups(DeviceId actor) {
  std::vector<OpenGroupView> out;
  if (type_of(actor) != AccountType::kPeer) return out;
  if (!indexed_) index_all();
  const std::string handle = group_rules::handle_of(directory(), actor);
  for (auto it = open_.begin(); it != open_.end();) {
    const ConvState* conv = conversations_.conversation(*it);
    if (!conv || !open_to_peers(*conv)) {
      it = open_.erase(it);
      continue;
    }
    const ConvId id = *it++;
    if (policy::is_banned(*conv->policy, handle)) continue;
    std::set<AccountId> accounts;
    for (const auto& [device, m] : conv->members) {
      const DeviceState* d = identity_.device(device);
      if (m.active() && d) accounts.insert(d->account);
    }
    OpenGroupView view{id, conv->policy->charter(), static_cast<uint32_t>(accounts.size())};
    v1::SignedPublicListing signed_listing;
    v1::PublicListing listing;
    // Checked when it was published; an unreadable record just shows no name.
    if (!conv->listing.empty() && signed_listing.ParseFromString(conv->listing) &&
        listing.ParseFromString(signed_listing.listing())) {
      view.public_name = listing.name();
      view.public_description = listing.description();
    }
    out.push_back(std::move(view));
  }
  return out;
}

Status Groups::check_listing(const Found& found, DeviceId actor,
                             const v1::SignedPublicListing& signed_listing) const {
  if (!open_to_peers(*found.conv)) {
    return invalid("only a group open to peers is listed: open it first");
  }
  if (signed_listing.signer() != found.handle) {
    return refused("a facilitator publishes the listing in their own name");
  }
  // Members check it with the signer's leaf key, as they check invitations.
  const std::string key = group_rules::leaf_key(directory(), actor);
  if (key.empty() || !group_rules::listing_signed_with(signed_listing, key)) {
    return invalid("the listing is not signed by this device's key");
  }
  v1::PublicListing listing;
  if (!listing.ParseFromString(signed_listing.listing())) {
    return invalid("the listing is unreadable");
  }
  if (listing.conversation_id() != found.conv->id.str()) {
    return invalid("the listing names another group");
  }
  if (listing.name().size() > kMaxPublicName ||
      listing.description().size() > kMaxPublicDescription) {
    return invalid("a public name has at most 80 bytes, a description at most 1000");
  }
  return Ok{};
}

void Groups::publish_group(DeviceId actor, const ConvId& conv_id, const std::string& bytes,
                           Done<Ok> done) {
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  if (policy::role_of(*conv.policy, found->handle) != v1::FACILITATOR) {
    return done(refused("only a facilitator publishes the group's listing"));
  }
  v1::SignedPublicListing signed_listing;
  if (!signed_listing.ParseFromString(bytes)) return done(invalid("the listing is unreadable"));
  const bool withdrawn = signed_listing.listing().empty();
  if (withdrawn) {
    // Nothing public to take back; the group saw nothing, so it is told nothing.
    if (conv.listing.empty()) return done(Ok{});
    signed_listing.Clear();
  } else if (auto s = check_listing(*found, actor, signed_listing); !s) {
    return done(std::move(s).error());
  }
  Conversations::GroupChange edit{conv, {}, {}};
  edit.header.listing = withdrawn ? std::string() : bytes;
  v1::GroupEvent event;
  *event.mutable_published() = std::move(signed_listing);
  record(ctx_.change(), std::move(edit), actor, std::move(event), std::move(done));
}

void Groups::request_join(DeviceId actor, const ConvId& conv_id, Done<Ok> done) {
  auto found = group_of(actor, conv_id, false);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  if (conv.policy->join_rule() != v1::OPEN_TO_PEERS)
    return done(refused("this group admits only by invitation"));
  if (type_of(actor) != AccountType::kPeer) {
    return done(refused("a professional joins a group only by invitation"));
  }
  if (policy::is_banned(*conv.policy, found->handle))
    return done(refused("you are banned from this group"));
  const AccountState* account = identity_.account_of(actor);
  if (!account) return done(make_error(Errc::kNotFound, "no such account"));
  if (has_active_device(conv, *account)) return done(invalid("you are already a member"));
  if (conv.join_requests.contains(account->id)) return done(Ok{});  // Asked already.
  Conversations::GroupChange edit{conv, {}, {}};
  edit.header.join_requests.insert(account->id);
  v1::GroupEvent event;
  event.set_join_request(found->handle);
  record(ctx_.change(), std::move(edit), actor, std::move(event), std::move(done));
}

// ---- Moderation --------------------------------------------------------------------------------

void Groups::delete_entry(DeviceId actor, const ConvId& conv_id, uint64_t seq, Done<Ok> done) {
  auto found = group_of(actor, conv_id, true);
  if (!found) return done(std::move(found).error());
  const ConvState& conv = *found->conv;
  if (policy::role_of(*conv.policy, found->handle) != v1::FACILITATOR) {
    return done(refused("only a facilitator deletes a message for everyone"));
  }
  if (seq == 0 || seq <= conv.erased_upto || seq > conv.durable_seq)
    return done(make_error(Errc::kNotFound, "no such message"));
  auto entry = ctx_.store.read_log(conv.id, seq - 1, seq, 1, SIZE_MAX);
  if (!entry) return done(std::move(entry).error());
  if (entry->empty() || entry->front().seq != seq)
    return done(make_error(Errc::kNotFound, "no such message (deleted already?)"));
  if (entry->front().record.kind() != static_cast<int>(EntryKind::kApplication)) {
    return done(invalid("only messages can be deleted, not changes to the group"));
  }
  Change change = ctx_.change();
  change.batch().delete_log(conv.id, seq);
  v1::GroupEvent event;
  event.set_deleted_seq(seq);
  record(std::move(change), Conversations::GroupChange{conv, {}, {}}, actor, std::move(event),
         std::move(done), [this, id = conv.id, seq] { ctx_.store.compact_log(id, seq, seq + 1); });
}

}  // namespace cercle::domain

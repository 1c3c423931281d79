#include "server/domain/group_rules.h"

#include <sodium.h>

#include "cercle/policy/policy.h"

namespace cercle::domain::group_rules {

namespace {

constexpr std::string_view kListingLabel = "cercle-listing-v1";

Error refused(std::string why) { return make_error(Errc::kForbidden, std::move(why)); }

policy::Kind kind_of(const Directory& dir, DeviceId device) {
  const AccountState* a = dir.identity.account_of(device);
  return a && a->type == AccountType::kProfessional ? policy::Kind::kProfessional
                                                    : policy::Kind::kPeer;
}

policy::Group group_of(const Directory& dir, const ConvState& conv) {
  policy::Group g;
  g.conversation_id = conv.id.str();
  g.policy = conv.policy;
  g.used_invitations = conv.used_invitations;
  g.revoked_invitations = conv.revoked_invitations;
  for (const auto& [nonce, i] : conv.invitations) {
    if (i.declined) g.declined_invitations.insert(nonce);
  }
  g.members = members(dir, conv);
  return g;
}

// The invitation the commit carries for `handle`, if any (as policy::check_commit picks it).
const v1::SignedInvitation* carried_for(const v1::CommitData& data, const std::string& handle) {
  for (const auto& s : data.invitations()) {
    v1::Invitation i;
    if (i.ParseFromString(s.invitation()) && i.invitee() == handle) return &s;
  }
  return nullptr;
}

// What only the relay can check about the invitations a commit uses: each is the very invitation
// it recorded under that nonce (not another one signed with a reused nonce), for the account the
// device belongs to, accepted, and past the group's delay for objections.
Status check_recorded(const Directory& dir, const ConvState& conv, const v1::GroupPolicy& rules,
                      const handshake::MembershipChange& change, const policy::Change& c,
                      int64_t now_ms) {
  for (size_t k = 0; k < change.adds.size(); ++k) {
    const v1::SignedInvitation* carried = carried_for(c.data, c.added[k].handle);
    if (!carried) continue;
    v1::Invitation claimed;
    if (!claimed.ParseFromString(carried->invitation())) return refused("unreadable invitation");
    auto it = conv.invitations.find(claimed.nonce());
    if (it == conv.invitations.end()) return refused("the relay has no record of this invitation");
    const InvitationState& i = it->second;
    v1::SignedInvitation recorded;
    if (!recorded.ParseFromString(i.signed_bytes) ||
        recorded.invitation() != carried->invitation()) {
      return refused("the invitation is not the one the relay recorded under its nonce");
    }
    const DeviceState* d = dir.identity.device(change.adds[k].first);
    if (!d || d->account != i.invitee) return refused("the invitation is for another account");
    if (i.revoked) return refused("the invitation was revoked");
    if (i.declined) return refused("the invitee declined this invitation");
    if (i.accepted_ms == 0) return refused("the invitee has not accepted the charter yet");
    if (i.invitation.invitee_type() == v1::INVITEE_PROFESSIONAL && rules.objection_hours() > 0) {
      if (i.objected) return refused("a member objected to this invitation");
      if (now_ms < i.accepted_ms + int64_t{rules.objection_hours()} * 3'600'000) {
        return refused("the group's delay for objections has not passed yet");
      }
    }
  }
  return Ok{};
}

}  // namespace

std::vector<policy::Member> members(const Directory& dir, const ConvState& conv) {
  std::vector<policy::Member> out;
  for (const auto& [device, m] : conv.members) {
    if (!m.active()) continue;
    out.push_back({handle_of(dir, device), m.leaf, kind_of(dir, device), leaf_key(dir, device)});
  }
  return out;
}

bool listing_signed_with(const v1::SignedPublicListing& listing, std::string_view public_key) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES ||
      listing.signature().size() != crypto_sign_BYTES) {
    return false;
  }
  std::string transcript(kListingLabel);
  transcript.push_back('\0');
  transcript.append(listing.listing());
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(listing.signature().data()),
             reinterpret_cast<const unsigned char*>(transcript.data()), transcript.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

std::string leaf_key(const Directory& dir, DeviceId device) {
  const DeviceState* d = dir.identity.device(device);
  if (!d) return {};
  const std::string_view key = dir.key_packages.mls_signature_key(device);
  if (!key.empty()) return std::string(key);
  return std::string(reinterpret_cast<const char*>(d->public_key.data()), d->public_key.size());
}

std::string handle_of(const Directory& dir, DeviceId device) {
  const AccountState* a = dir.identity.account_of(device);
  return a ? a->handle : std::string();
}

bool is_facilitator(const Directory& dir, const ConvState& conv, DeviceId device) {
  return conv.policy && policy::role_of(*conv.policy, handle_of(dir, device)) == v1::FACILITATOR;
}

Result<Accepted> check_commit(const Directory& dir, const ConvState& conv,
                              const handshake::MembershipChange& change, int64_t now_ms) {
  policy::Change c;
  c.committer_leaf = change.committer_leaf;
  for (size_t i = 0; i < change.adds.size(); ++i) {
    c.added.push_back({handle_of(dir, change.adds[i].first), kind_of(dir, change.adds[i].first)});
  }
  for (size_t i = 0; i < change.removes.size(); ++i) {
    c.removed.push_back({change.removed_leaves[i], change.self_requested[i]});
  }
  if (change.policy) {
    c.new_policy.emplace();
    if (!c.new_policy->ParseFromString(*change.policy)) {
      return make_error(Errc::kInvalidArgument, "the group's new rules are unreadable");
    }
  }
  if (!change.authenticated_data.empty() && !c.data.ParseFromString(change.authenticated_data)) {
    return make_error(Errc::kInvalidArgument, "the commit's data is unreadable");
  }
  auto verdict = policy::check_commit(group_of(dir, conv), c, now_ms);
  if (!verdict) return refused(policy::describe(verdict.error()));
  const v1::GroupPolicy& rules = conv.policy ? *conv.policy : *c.new_policy;
  if (auto s = check_recorded(dir, conv, rules, change, c, now_ms); !s) {
    return std::move(s).error();
  }
  // In an open group, a member who is not a facilitator adds only peers who asked.
  const DeviceId committer = conv.device_at(change.committer_leaf);
  if (policy::role_of(rules, handle_of(dir, committer)) != v1::FACILITATOR) {
    for (const auto& [device, ref] : change.adds) {
      const DeviceState* d = dir.identity.device(device);
      if (!d || !conv.join_requests.contains(d->account)) {
        return refused("only a facilitator adds someone who did not ask to join");
      }
    }
  }
  return Accepted{std::move(c.new_policy), std::move(verdict->used_nonces)};
}

// Whether the rules could ever let a plain member's Add of this device be committed: in a group
// open to peers, a peer whose account asked to join.
static bool member_may_add(const Directory& dir, const ConvState& conv,
                           const mls_checks::ProposalFacts& f) {
  if (conv.policy->join_rule() != v1::OPEN_TO_PEERS || !f.added || f.added->professional) {
    return false;
  }
  const KeyPackages::PackageRef* ref = dir.key_packages.package_ref(f.added->ref);
  const AccountState* a = ref ? dir.identity.account_of(ref->device) : nullptr;
  return a && a->type == AccountType::kPeer && conv.join_requests.contains(a->id) &&
         !policy::is_banned(*conv.policy, a->handle);
}

Status check_send(const Directory& dir, const ConvState& conv, DeviceId actor, EntryKind kind,
                  const CachedProposal* proposal) {
  if (conv.kind != ConvKind::kGroup || !conv.policy) return Ok{};
  const std::string handle = handle_of(dir, actor);
  if (kind == EntryKind::kApplication) {
    if (policy::is_muted(*conv.policy, handle)) return refused("you are muted in this group");
    if (!conv.policy->has_seances()) return Ok{};  // Most groups: no member list to build.
    const policy::seance::Facts facts{conv.id.str(), conv.policy, members(dir, conv), 0};
    const auto gate = policy::seance::may_write(conv.seance, facts, handle);
    if (gate != policy::seance::Gate::kAllowed) return refused(policy::seance::describe(gate));
    return Ok{};
  }
  if (!proposal || is_facilitator(dir, conv, actor)) return Ok{};
  // What a plain member proposes must be something the rules could let a commit do; else an honest
  // facilitator's client would hold a proposal it can never commit.
  const auto& f = proposal->facts;
  switch (f.kind) {
    case mls_checks::ProposalKind::kUpdate:
      return Ok{};
    case mls_checks::ProposalKind::kRemove:
      if (f.removed_leaf == proposal->sender_leaf) return Ok{};
      return refused("only a facilitator proposes to remove someone else");
    case mls_checks::ProposalKind::kAdd:
      if (member_may_add(dir, conv, f)) return Ok{};
      return refused("only a facilitator proposes to add someone to this group");
    default:
      return refused("only a facilitator proposes this");
  }
}

}  // namespace cercle::domain::group_rules

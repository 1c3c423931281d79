#include "cercle/policy/policy.h"

#include <sodium.h>

#include <algorithm>

namespace cercle::policy {

namespace {

const Member* member_at(const Group& g, uint32_t leaf) {
  for (const auto& m : g.members) {
    if (m.leaf == leaf) return &m;
  }
  return nullptr;
}

// Every leaf of an account: a member with several devices has one leaf per device.
std::vector<const Member*> members_named(const Group& g, std::string_view handle) {
  std::vector<const Member*> out;
  for (const auto& m : g.members) {
    if (m.handle == handle) out.push_back(&m);
  }
  return out;
}

bool contains(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

using Code = v1::PolicyRefusal;
constexpr Code kAllowed = v1::POLICY_REFUSAL_UNSPECIFIED;

// Checks an invitation a commit carries for `added`; returns the refusal or kAllowed.
Code check_invitation(const Group& g, const v1::GroupPolicy& policy,
                      const v1::SignedInvitation& signed_invitation, const Added& added,
                      int64_t now_ms, std::string& nonce) {
  v1::Invitation peek;
  if (!peek.ParseFromString(signed_invitation.invitation())) {
    return v1::POLICY_REFUSAL_INVITATION_UNREADABLE;
  }
  const auto inviter_leaves = members_named(g, peek.inviter());
  if (inviter_leaves.empty() || role_of(policy, peek.inviter()) != v1::FACILITATOR) {
    return v1::POLICY_REFUSAL_INVITATION_NOT_FROM_FACILITATOR;
  }
  // Any of the facilitator's devices may have signed it.
  std::optional<v1::Invitation> invitation;
  for (const Member* leaf : inviter_leaves) {
    if ((invitation = verify_invitation(signed_invitation, leaf->signature_key))) break;
  }
  if (!invitation) return v1::POLICY_REFUSAL_INVITATION_SIGNATURE;
  if (invitation->conversation_id() != g.conversation_id) {
    return v1::POLICY_REFUSAL_INVITATION_OTHER_GROUP;
  }
  if (invitation->invitee() != added.handle) return v1::POLICY_REFUSAL_INVITATION_OTHER_PERSON;
  if (added.kind == Kind::kProfessional && invitation->invitee_type() != v1::INVITEE_PROFESSIONAL) {
    return v1::POLICY_REFUSAL_PROFESSIONAL_INVITED_AS_PEER;
  }
  if (invitation->expires_at_ms() <= now_ms) return v1::POLICY_REFUSAL_INVITATION_EXPIRED;
  nonce = invitation->nonce();
  if (g.used_invitations.contains(nonce)) return v1::POLICY_REFUSAL_INVITATION_USED;
  if (g.revoked_invitations.contains(nonce)) return v1::POLICY_REFUSAL_INVITATION_REVOKED;
  if (g.declined_invitations.contains(nonce)) return v1::POLICY_REFUSAL_INVITATION_DECLINED;
  return kAllowed;
}

// Finds the invitation the commit carries for `handle`, if any.
const v1::SignedInvitation* invitation_for(const Change& c, std::string_view handle) {
  for (const auto& s : c.data.invitations()) {
    v1::Invitation i;
    if (i.ParseFromString(s.invitation()) && i.invitee() == handle) return &s;
  }
  return nullptr;
}

Code check_policy_change(const Group& g, const Change& c, const Member& committer) {
  const v1::GroupPolicy& next = *c.new_policy;
  if (!g.policy) {
    if (g.members.size() != 1) return v1::POLICY_REFUSAL_FIRST_RULES_FROM_CREATOR;
  } else if (role_of(*g.policy, committer.handle) != v1::FACILITATOR) {
    return v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES;
  }
  // Someone must still lead the group: a facilitator among those who stay or join.
  for (const auto& grant : next.roles()) {
    if (grant.role() != v1::FACILITATOR) continue;
    // The facilitator stays while one of their devices stays.
    const auto leaves = members_named(g, grant.handle());
    const bool staying = std::any_of(leaves.begin(), leaves.end(), [&](const Member* m) {
      return std::none_of(c.removed.begin(), c.removed.end(),
                          [&](const Removed& r) { return r.leaf == m->leaf; });
    });
    const bool joining = std::any_of(c.added.begin(), c.added.end(),
                                     [&](const Added& a) { return a.handle == grant.handle(); });
    if (staying || joining) return kAllowed;
  }
  return v1::POLICY_REFUSAL_NO_FACILITATOR_LEFT;
}

// Each added member, in order; the first refused one names the refusal.
Verdict check_adds(const Group& g, const Change& c, const v1::GroupPolicy& current,
                   const v1::GroupPolicy& after, bool facilitator, int64_t now_ms) {
  Accepted accepted;
  for (const auto& added : c.added) {
    const auto refuse = [&](Code code) { return Refusal{code, added.handle}; };
    if (is_banned(after, added.handle)) return refuse(v1::POLICY_REFUSAL_BANNED);
    const v1::SignedInvitation* invitation = invitation_for(c, added.handle);
    if (added.kind == Kind::kProfessional && !invitation) {
      return refuse(v1::POLICY_REFUSAL_PROFESSIONAL_WITHOUT_INVITATION);
    }
    if (!invitation) {
      if (!facilitator && current.join_rule() != v1::OPEN_TO_PEERS) {
        return refuse(v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS);
      }
      continue;
    }
    std::string nonce;
    if (Code why = check_invitation(g, current, *invitation, added, now_ms, nonce);
        why != kAllowed) {
      return refuse(why);
    }
    if (!facilitator) return refuse(v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS_INVITED);
    accepted.used_nonces.push_back(nonce);
  }
  return accepted;
}

}  // namespace

v1::Role role_of(const v1::GroupPolicy& policy, std::string_view handle) {
  for (const auto& grant : policy.roles()) {
    if (grant.handle() == handle) return grant.role();
  }
  return v1::ROLE_MEMBER;
}

bool is_banned(const v1::GroupPolicy& policy, std::string_view handle) {
  return contains(policy.banned(), handle);
}

bool is_muted(const v1::GroupPolicy& policy, std::string_view handle) {
  return contains(policy.muted(), handle);
}

v1::GroupPolicy initial_policy(std::string_view creator) {
  v1::GroupPolicy p;
  auto* grant = p.add_roles();
  grant->set_handle(std::string(creator));
  grant->set_role(v1::FACILITATOR);
  return p;
}

Verdict check_commit(const Group& g, const Change& c, int64_t now_ms) {
  const Member* committer = member_at(g, c.committer_leaf);
  if (!committer) return Refusal{v1::POLICY_REFUSAL_NOT_A_MEMBER, {}};
  if (!g.policy && !c.new_policy) return Refusal{v1::POLICY_REFUSAL_FIRST_COMMIT_SETS_RULES, {}};
  if (c.new_policy) {
    if (Code why = check_policy_change(g, c, *committer); why != kAllowed) {
      return Refusal{why, {}};
    }
  }
  // Rules in force are the current ones; for a new group, the ones its creator sets now.
  const v1::GroupPolicy& current = g.policy ? *g.policy : *c.new_policy;
  const v1::GroupPolicy& after = c.new_policy ? *c.new_policy : current;
  const bool facilitator = role_of(current, committer->handle) == v1::FACILITATOR;
  for (const auto& r : c.removed) {
    if (!r.self_requested && !facilitator) {
      return Refusal{v1::POLICY_REFUSAL_ONLY_FACILITATOR_REMOVES, {}};
    }
  }
  return check_adds(g, c, current, after, facilitator, now_ms);
}

v1::PolicyRefusal leaf_change(const Member& before, const Member& after) {
  if (after.handle != before.handle) return v1::POLICY_REFUSAL_IDENTITY_CHANGED;
  if (after.kind != before.kind) return v1::POLICY_REFUSAL_ACCOUNT_TYPE_CHANGED;
  if (after.signature_key != before.signature_key) return v1::POLICY_REFUSAL_SIGNATURE_KEY_CHANGED;
  return kAllowed;
}

std::string describe(const Refusal& r) {
  switch (r.code) {
    case v1::POLICY_REFUSAL_UNSPECIFIED:
      return "the rules allow it";
    case v1::POLICY_REFUSAL_NOT_A_MEMBER:
      return "the change comes from no member";
    case v1::POLICY_REFUSAL_FIRST_COMMIT_SETS_RULES:
      return "a group's first commit sets its rules";
    case v1::POLICY_REFUSAL_FIRST_RULES_FROM_CREATOR:
      return "a group's first rules come from its creator alone";
    case v1::POLICY_REFUSAL_ONLY_FACILITATOR_CHANGES_RULES:
      return "only a facilitator changes the group's rules";
    case v1::POLICY_REFUSAL_NO_FACILITATOR_LEFT:
      return "the group would have no facilitator left";
    case v1::POLICY_REFUSAL_ONLY_FACILITATOR_REMOVES:
      return "only a facilitator removes others";
    case v1::POLICY_REFUSAL_BANNED:
      return r.who + " is banned from this group";
    case v1::POLICY_REFUSAL_PROFESSIONAL_WITHOUT_INVITATION:
      return "a professional joins a group only by invitation";
    case v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS:
      return "only a facilitator adds members to this group";
    case v1::POLICY_REFUSAL_ONLY_FACILITATOR_ADDS_INVITED:
      return "only a facilitator adds an invited member";
    case v1::POLICY_REFUSAL_INVITATION_UNREADABLE:
      return "an invitation is unreadable";
    case v1::POLICY_REFUSAL_INVITATION_NOT_FROM_FACILITATOR:
      return "an invitation was not made by a facilitator of the group";
    case v1::POLICY_REFUSAL_INVITATION_SIGNATURE:
      return "an invitation's signature does not verify";
    case v1::POLICY_REFUSAL_INVITATION_OTHER_GROUP:
      return "an invitation is for another group";
    case v1::POLICY_REFUSAL_INVITATION_OTHER_PERSON:
      return "an invitation is for someone else";
    case v1::POLICY_REFUSAL_PROFESSIONAL_INVITED_AS_PEER:
      return "a professional was invited as a peer";
    case v1::POLICY_REFUSAL_INVITATION_EXPIRED:
      return "an invitation has expired";
    case v1::POLICY_REFUSAL_INVITATION_USED:
      return "an invitation was already used";
    case v1::POLICY_REFUSAL_INVITATION_REVOKED:
      return "an invitation was revoked";
    case v1::POLICY_REFUSAL_ACCOUNT_TYPE_CHANGED:
      return "a member's account type cannot change inside a group";
    case v1::POLICY_REFUSAL_IDENTITY_CHANGED:
      return "a member's name cannot change inside a group";
    case v1::POLICY_REFUSAL_SIGNATURE_KEY_CHANGED:
      return "a member's signature key cannot change inside a group";
    case v1::POLICY_REFUSAL_CREDENTIAL_UNSUPPORTED:
      return "a credential names no Cercle account";
    case v1::POLICY_REFUSAL_PROPOSAL_TYPE_REFUSED:
      return "this kind of change is never used in Cercle";
    case v1::POLICY_REFUSAL_PROPOSAL_REFUSED:
      return "the commit carries a proposal that was refused";
    case v1::POLICY_REFUSAL_RULES_REMOVED:
      return "the commit removes the group's rules";
    case v1::POLICY_REFUSAL_RULES_UNREADABLE:
      return "the group's rules are unreadable";
    case v1::POLICY_REFUSAL_DATA_UNREADABLE:
      return "the commit's data is unreadable";
    case v1::POLICY_REFUSAL_INVITATION_DECLINED:
      return "the invitee declined this invitation";
    default:
      return "refused by the group's rules (code " + std::to_string(int{r.code}) + ")";
  }
}

std::string invitation_transcript(std::string_view encoded_invitation) {
  std::string out(kInvitationLabel);
  out.push_back('\0');
  out.append(encoded_invitation);
  return out;
}

v1::SignedInvitation sign_invitation(const v1::Invitation& invitation,
                                     const unsigned char* secret_key) {
  v1::SignedInvitation s;
  s.set_invitation(invitation.SerializeAsString());
  const std::string t = invitation_transcript(s.invitation());
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(t.data()), t.size(), secret_key);
  s.set_signature(sig);
  return s;
}

std::optional<v1::Invitation> verify_invitation(const v1::SignedInvitation& s,
                                                std::string_view public_key) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES ||
      s.signature().size() != crypto_sign_BYTES) {
    return std::nullopt;
  }
  const std::string t = invitation_transcript(s.invitation());
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(s.signature().data()),
                                  reinterpret_cast<const unsigned char*>(t.data()), t.size(),
                                  reinterpret_cast<const unsigned char*>(public_key.data())) != 0) {
    return std::nullopt;
  }
  v1::Invitation i;
  if (!i.ParseFromString(s.invitation())) return std::nullopt;
  return i;
}

std::string kind_extension(Kind kind) {
  return std::string(1, kind == Kind::kProfessional ? 2 : 1);
}

Kind kind_of_extension(std::string_view data) {
  return data.size() == 1 && data[0] == 2 ? Kind::kProfessional : Kind::kPeer;
}

}  // namespace cercle::policy

// The rules of a groupe de parole, checked the same way by the relay (before it accepts a commit)
// and by every member's client (before it applies one): only facilitators add and remove others
// (anyone may leave); a professional comes in only with a valid invitation signed by a
// facilitator; in an open-to-peers group any member may add a peer who asked; banned accounts
// never come back; only facilitators change the policy. Both sides feed the facts they read from
// the MLS commit into check_commit(), so a relay that breaks the rules is caught by the clients.
// Pure functions and plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cercle/base/result.h"
#include "proto/policy.pb.h"

namespace cercle::policy {

// The policy travels as the group context extension kRolesExtensionType and a member's account
// type as the leaf extension kAccountTypeExtensionType (cercle/policy/extensions.h).
inline constexpr std::string_view kInvitationLabel = "cercle-invitation-v1";

enum class Kind { kPeer, kProfessional };

struct Member {
  std::string handle;
  uint32_t leaf = 0;
  Kind kind = Kind::kPeer;
  std::string signature_key;  // Ed25519 public key of the leaf.
};

struct Added {
  std::string handle;
  Kind kind = Kind::kPeer;
};

struct Removed {
  uint32_t leaf = 0;
  bool self_requested = false;  // A Remove proposal sent by the removed member itself (leaving).
};

// What a commit does, as read from it.
struct Change {
  uint32_t committer_leaf = 0;
  std::vector<Added> added;
  std::vector<Removed> removed;
  std::optional<v1::GroupPolicy> new_policy;  // From a GroupContextExtensions proposal.
  v1::CommitData data;                        // The commit's authenticated data.
};

// The group as it is before the commit.
struct Group {
  std::string conversation_id;
  std::optional<v1::GroupPolicy> policy;  // nullopt: a new group, before its first commit.
  std::vector<Member> members;
  std::set<std::string> used_invitations;      // Nonces already used in this group.
  std::set<std::string> revoked_invitations;   // Nonces revoked by a facilitator.
  std::set<std::string> declined_invitations;  // Nonces their invitee declined (relay-attested).
};

// Why the rules refuse: the code is the refusal's identity (the web client gives the same one for
// the same facts, see policy_cases.json); `who` is the handle it is about, for an added member.
struct Refusal {
  v1::PolicyRefusal code = v1::POLICY_REFUSAL_UNSPECIFIED;
  std::string who;
};

struct Accepted {
  std::vector<std::string> used_nonces;  // Invitations the commit uses.
};

using Verdict = base::Result<Accepted, Refusal>;

// Checks a commit against the group's rules at `now_ms`.
Verdict check_commit(const Group& group, const Change& change, int64_t now_ms);

// Whether a member's leaf stays who it is (an Update, or a committer's UpdatePath leaf, at the same
// leaf): the same account (handle), account type and signature key, checked in that order.
// Returns the refusal, or POLICY_REFUSAL_UNSPECIFIED when nothing of that changed.
v1::PolicyRefusal leaf_change(const Member& before, const Member& after);

// An English sentence for logs, the relay's error messages and the SDK's warnings; never compared.
std::string describe(const Refusal& refusal);

v1::Role role_of(const v1::GroupPolicy& policy, std::string_view handle);
bool is_banned(const v1::GroupPolicy& policy, std::string_view handle);
bool is_muted(const v1::GroupPolicy& policy, std::string_view handle);

// A new group's first policy: `creator` facilitates, invite-only.
v1::GroupPolicy initial_policy(std::string_view creator);

// The bytes an inviter signs.
std::string invitation_transcript(std::string_view encoded_invitation);
// Signs an invitation with a libsodium Ed25519 secret key (64 bytes).
v1::SignedInvitation sign_invitation(const v1::Invitation& invitation,
                                     const unsigned char* secret_key);
// Returns the invitation when `signed_invitation` verifies with `public_key`, else nullopt.
std::optional<v1::Invitation> verify_invitation(const v1::SignedInvitation& signed_invitation,
                                                std::string_view public_key);

// Account type as carried in a leaf's kAccountTypeExtensionType extension (absent: a peer).
std::string kind_extension(Kind kind);
Kind kind_of_extension(std::string_view data);

}  // namespace cercle::policy

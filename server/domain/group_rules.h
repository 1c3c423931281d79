// The rules of a groupe de parole as the relay applies them: client/policy's check_commit
// (which every member's client runs too) on the facts the relay read from the commit, plus what
// only the relay knows: the invitations it recorded (accepted by the invitee, not revoked, past
// the group's objection delay) and the join requests of peers in open groups.
// Pure functions over the conversation and the Directory (directory.h); domain thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/policy.pb.h"
#include "server/common/result.h"
#include "server/domain/conversation_state.h"
#include "server/domain/directory.h"
#include "server/domain/handshake.h"

namespace cercle::domain::group_rules {

struct Accepted {
  std::optional<v1::GroupPolicy> policy;  // The rules the commit sets, if it sets some.
  std::vector<std::string> used_nonces;   // Invitations it uses.
};

// Checks a commit of a GROUP conversation. Errors: kForbidden (the rules refuse it, with why),
// kInvalidArgument (unreadable policy or commit data).
[[nodiscard]] Result<Accepted> check_commit(const Directory& dir, const ConvState& conv,
                                            const handshake::MembershipChange& change,
                                            int64_t now_ms);

// Checks a message or proposal in a GROUP conversation: a muted member's messages are refused, and
// those the group's séance rules hold back (policy::seance::may_write: outside a séance, the floor
// given to another, the charter not confirmed in this séance; facilitators are never held back);
// a member who is not a facilitator proposes only what the rules could let a commit do: an
// Update of its own leaf, its own removal (leaving), in a group open to peers the Add of a peer who
// asked to join. (What nobody may propose, in any conversation, is handshake.h's.)
// Errors: kForbidden.
[[nodiscard]] Status check_send(const Directory& dir, const ConvState& conv, DeviceId actor,
                                EntryKind kind, const CachedProposal* proposal);

// Whether `listing` (a SignedPublicListing) is signed with `public_key` over
// "cercle-listing-v1" || 0x00 || listing, as invitations are over their own label.
bool listing_signed_with(const v1::SignedPublicListing& listing, std::string_view public_key);

// The active members as lib/policy sees them: handle, leaf, kind and leaf signature key.
std::vector<policy::Member> members(const Directory& dir, const ConvState& conv);

// The key a device's MLS leaf signs with: the one its key packages declared, else the device key
// itself (our clients use it for both; a device that never published a package still leads the
// groups it created). "" if unknown.
std::string leaf_key(const Directory& dir, DeviceId device);
// The handle of a device's account ("" if unknown).
std::string handle_of(const Directory& dir, DeviceId device);
bool is_facilitator(const Directory& dir, const ConvState& conv, DeviceId device);

}  // namespace cercle::domain::group_rules

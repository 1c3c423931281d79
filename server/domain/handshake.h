// Reads MLS handshake messages against a conversation's state, so that the relay's member list and
// the MLS group's stay identical: a commit's adds and removes become devices and leaves, a proposal
// is remembered for the commits of its epoch. See mls_checks.h for what is (and cannot be) checked.
//
// What no member may do, whatever the group's rules (checked before any client sees the message):
// - put in the tree a leaf (an Update proposal, a commit's UpdatePath) that is not its own: the
//   credential must be a basic credential naming the device's account handle, the account type
//   (leaf extension 0xF0A1) the account's (absent reads as a peer, so only a peer may omit it), the
//   signature key the one the device bound with its KeyPackages (a device that never uploaded one
//   signs with its device key, as group_rules::leaf_key says: it is in no group but those it
//   created, and no other key would be vouched for by anything);
// - use a proposal type the product does not use: PreSharedKey (a PSK nobody holds makes every
//   later commit fail), ReInit, ExternalInit; GroupContextExtensions in a direct conversation (it
//   has no rules and no facilitator), or setting anything but the group rules (0xF0A0);
// - send a commit that RFC 9420 12.2 calls invalid in a way the relay can see (clients would refuse
//   it after the relay moved on, stranding the group): Updates by value or the committer's own,
//   two Updates/Removes of one leaf, two GroupContextExtensions, a key used twice, no UpdatePath
//   where one is required.
// Pure functions over the conversation and the Directory (directory.h); domain thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/common/result.h"
#include "server/domain/conversation_state.h"
#include "server/domain/directory.h"
#include "server/domain/types.h"

namespace cercle::domain::handshake {

// Tolerance on KeyPackage lifetimes for packages a commit adds: what the receiving clients allow.
inline constexpr uint64_t kLifetimeSkewS = 24 * 3600;
// Proposals one member may leave pending in an epoch: honest clients send at most a few (leaving,
// an Update); the cache lives in memory until the next commit.
inline constexpr size_t kMaxProposalsPerMember = 16;

struct MembershipChange {
  std::vector<std::pair<DeviceId, std::string>> adds;  // Device and KeyPackageRef, commit order.
  std::vector<DeviceId> removes;
  // What the group rules look at (client/policy).
  uint32_t committer_leaf = 0;
  std::vector<uint32_t> removed_leaves;  // Parallel to removes.
  std::vector<bool> self_requested;      // Parallel to removes: the leaver proposed it.
  std::vector<bool> added_professional;  // Parallel to adds: the KeyPackage says so.
  std::optional<std::string> policy;     // A new GroupPolicy (encoded), if the commit sets one.
  std::string authenticated_data;        // An encoded CommitData.
};

// Reads `args.commit`: a commit of `conv` at `args.epoch`, from the actor's leaf, whose proposals
// (by value, or by reference to this epoch's cached proposals) add devices known by their MLS
// signature keys and remove current members' leaves; checks that add_devices, remove_devices and
// the Welcome's recipients say the same, and what the header says no member may do.
// Errors: kInvalidArgument (not a valid commit for this request), kForbidden (a member's leaf
// that is not theirs, a proposal type or author the product refuses), kNotFound.
[[nodiscard]] Result<MembershipChange> read_commit(const Directory& dir, const ConvState& conv,
                                                   DeviceId actor, const CommitArgs& args,
                                                   uint64_t now_s);

// Reads a proposal sent with Send(kind PROPOSAL) at the conversation's epoch, from the actor's
// leaf. Errors: kInvalidArgument, kForbidden (as read_commit), kNotFound, kLimitReached (too many
// pending proposals from this member).
[[nodiscard]] Result<CachedProposal> read_proposal(const Directory& dir, const ConvState& conv,
                                                   DeviceId actor, std::string_view payload,
                                                   uint64_t now_s);

// Checks a leaf that `device` puts in the tree (see the header). Errors: kForbidden.
[[nodiscard]] Status check_leaf_owner(const Directory& dir, DeviceId device,
                                      const mls_checks::LeafFacts& leaf);

// Checks an application message sent with Send(kind APPLICATION): an MLS PrivateMessage of this
// group and epoch carrying application data (mls_checks::application). Errors: kInvalidArgument.
[[nodiscard]] Status check_application(const ConvState& conv, std::string_view payload);

}  // namespace cercle::domain::handshake

// The relay's public view of each conversation's MLS group
// (lib/mls/include/cercle/mls/public_group.h): the ratchet tree, GroupContext and interim
// transcript hash, advanced by every accepted commit, with which the relay refuses any proposal or
// commit whose signature does not verify with the key of its sender's leaf, before any member
// processes it (a corrupted commit accepted by the relay would move its epoch while every client
// refused the commit, stranding the group).
//
// Where a view comes from: the relay sees no Welcome for a group of one, and the epoch-0 interim
// transcript hash derives from a secret, so the group's creator states the group's start with its
// first commit (CommitArgs::genesis: the epoch-0 GroupContext and ratchet tree, and the confirmed
// transcript hash after that commit). The commit's own signature, verified over that GroupContext,
// vouches for the context and tree; only the confirmed transcript hash is taken on the creator's
// word, and a false one only makes the relay refuse that group's later commits. A conversation
// without a view (created before the relay kept them or required a start) is handled as before:
// its handshake messages are not verified.
//
// What a view cannot check: membership tags and confirmation tags (MACs under epoch secrets) and
// the encrypted path secrets. A member can still send a commit signed by its own leaf whose tag or
// path secrets are wrong; that is not a forgery, and is out of this check's reach.
//
// Views live in ConvState::public_group; their proposals of the current epoch are in memory only,
// like ConvState::proposals. Pure functions over the state; domain thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cercle/mls/public_group.h"
#include "server/common/result.h"
#include "server/domain/conversation_state.h"
#include "server/domain/directory.h"
#include "server/domain/handshake.h"
#include "server/domain/types.h"

namespace cercle::domain::public_groups {

// Whether a group's first commit must state its start. On: every client sends it (the SDK, the
// web client), and a group without a view could not be verified. Groups whose first commit was
// accepted before (without one) keep no view and are handled as before.
inline constexpr bool kGenesisRequired = true;

// What an acceptable commit does to the conversation's view.
struct CommitCheck {
  // The view to adopt once the commit is accepted; null when the conversation has none.
  std::shared_ptr<const mls::PublicGroup> next;
  // What the view saw the commit do: the leaves its Adds took and its Removes freed (with a view
  // only; its `next` is moved to `next` above).
  std::optional<mls::PublicCommit> applied;
};

// Checks `args.commit` (already read by handshake::read_commit) against the conversation's view,
// starting one from `args.genesis` for a group's first commit. Errors: kForbidden (the signature
// does not verify with the key of the sender's leaf), kInvalidArgument (a genesis that is malformed
// or not the conversation's start, a genesis past the first commit, a commit the members would
// refuse, a reference to a proposal the view does not hold, no genesis while kGenesisRequired);
// kForbidden too when the genesis leaf is not the creator's own (handshake::check_leaf_owner).
[[nodiscard]] Result<CommitCheck> check_commit(const Directory& dir, const ConvState& conv,
                                               DeviceId actor, const CommitArgs& args,
                                               uint64_t now_s);

// The leaves the devices `change` adds took, in change.adds order, as the MLS tree placed their
// KeyPackages when the view applied the commit; the relay records these and never places a member
// by itself. Errors: kInvalidArgument (the MLS commit adds or removes other leaves than `change`
// says), kForbidden (a conversation without a view adds devices: the relay cannot know where they
// sit, and a view-less conversation is one whose first commit predates the relay's views).
[[nodiscard]] Result<std::vector<uint32_t>> added_leaves(const CommitCheck& check,
                                                         const handshake::MembershipChange& change);

// Checks a proposal (already read by handshake::read_proposal) against the view; returns the view
// that remembers it, to adopt once it is accepted (null without a view). Errors: kForbidden,
// kInvalidArgument (as check_commit), kLimitReached (too many proposals in the epoch).
[[nodiscard]] Result<std::shared_ptr<const mls::PublicGroup>> check_proposal(
    const ConvState& conv, std::string_view payload);

// Adds the view of conversation `conv`, if it has one, to `batch`.
void write(const ConvId& conv, const std::shared_ptr<const mls::PublicGroup>& group,
           storage::WriteBatch& batch);

// A stored view. Errors: kInternal when the record is corrupt.
[[nodiscard]] Result<std::shared_ptr<const mls::PublicGroup>> load(
    const storage::PublicGroupRecord& record);

}  // namespace cercle::domain::public_groups

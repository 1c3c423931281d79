// Reads MLS handshake messages against a conversation's state, so that the relay's member list and
// the MLS group's stay identical: a commit's adds and removes become devices and leaves, a proposal
// is remembered for the commits of its epoch. See mls_checks.h for what is (and cannot be) checked.
// Pure functions over the State; domain thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/common/result.h"
#include "server/domain/state.h"
#include "server/domain/types.h"

namespace cercle::domain::handshake {

// Tolerance on KeyPackage lifetimes for packages a commit adds: what the receiving clients allow.
inline constexpr uint64_t kLifetimeSkewS = 24 * 3600;

struct MembershipChange {
  std::vector<std::pair<DeviceId, std::string>> adds;  // Device and KeyPackageRef, commit order.
  std::vector<DeviceId> removes;
  // What the group rules look at (client-lib/policy).
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
// the Welcome's recipients say the same. Errors: kInvalidArgument, kForbidden, kNotFound.
[[nodiscard]] Result<MembershipChange> read_commit(const State& state, const ConvState& conv,
                                                   DeviceId actor, const CommitArgs& args,
                                                   uint64_t now_s);

// Reads a proposal sent with Send(kind PROPOSAL) at the conversation's epoch, from the actor's
// leaf. Errors: kInvalidArgument, kForbidden, kNotFound.
[[nodiscard]] Result<CachedProposal> read_proposal(const State& state, const ConvState& conv,
                                                   DeviceId actor, std::string_view payload,
                                                   uint64_t now_s);

// The leaves `adds` added devices take once `removes` left: each takes the leftmost free leaf, as
// in RFC 9420 (blank leaves are reused before the tree grows).
std::vector<uint32_t> assign_leaves(const ConvState& conv, const std::vector<DeviceId>& removes,
                                    size_t adds);

}  // namespace cercle::domain::handshake

// Internal types shared by the State implementation files (not part of the public API).
#pragma once

#include "client-lib/mls/state.h"

namespace cercle::mls {

struct ResolvedProposal {
  Proposal proposal;
  uint32_t sender = 0;
  Bytes ref;  // empty when the proposal came by value
};

struct AppliedProposals {
  RatchetTree tree;
  std::vector<Extension> extensions;
  std::vector<uint32_t> added_leaves;
  std::vector<KeyPackage> added_key_packages;
  std::vector<PreSharedKeyId> psks;
  bool path_required = false;
  bool self_removed = false;
  // Set when one of our own Update proposals was committed.
  std::optional<HpkePrivateKey> own_leaf_key;
};

struct NextEpoch {
  GroupContext context;
  EpochSecrets secrets;
  Bytes confirmation_tag;
};

// Clock skew a receiver tolerates on KeyPackage lifetimes in a commit.
inline constexpr uint64_t kLifetimeSkewSeconds = 24 * 3600;

// Keeps this many past epochs' resumption PSKs.
inline constexpr size_t kResumptionPskWindow = 16;

Bytes proposal_ref(const AuthenticatedContent& content);

}  // namespace cercle::mls

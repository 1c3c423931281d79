// Internal types shared by the State implementation files (not part of the public API).
#pragma once

#include "cercle/mls/state.h"

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
  bool path_required = false;  // RFC 9420 12.4: what this client's own commits carry.
  bool path_required_on_receipt =
      false;  // What a received commit must carry (see apply_proposals).
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

// Applies `change` to `leaf` (credential, extensions, capabilities, signature key); returns the key
// that must sign the leaf: change.signer when set, else `signer` (the result lives as long as
// either argument).
const SignaturePrivateKey& apply_leaf_change(LeafNode& leaf, const LeafChange& change,
                                             const SignaturePrivateKey& signer);

// kInvalid unless `next` keeps `old`'s credential: a member's identity never changes inside a
// group (RFC 9420 5.3.1 lets the application restrict credential changes; Cercle forbids them, so
// that nobody can rename themselves after another member).
Status check_same_credential(const LeafNode& old, const LeafNode& next);

}  // namespace cercle::mls

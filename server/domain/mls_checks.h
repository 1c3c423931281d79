// What the relay reads in MLS handshake messages (RFC 9750 6.4): it never holds group secrets, so
// it cannot verify signatures or tags over group content, but it decodes every KeyPackage, commit,
// proposal and Welcome it relays with the MLS codec and extracts the facts it must keep its member
// list in step with: who adds or removes which leaf, with which KeyPackage, for whom a Welcome is.
// Pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/result.h"

namespace cercle::domain::mls_checks {

// A KeyPackage whose own signature verified.
struct KeyPackageFacts {
  std::string ref;            // KeyPackageRef.
  std::string signature_key;  // The leaf's Ed25519 signature key.
  std::string identity;       // The BasicCredential identity (our clients: the account's handle).
  bool professional = false;  // The leaf's account-type extension says so.
  bool has_account_type = false;
};

// Decodes and validates a KeyPackage (MLSMessage-wrapped or bare): suite 3, its signatures, the
// lifetime (with `skew_s` of tolerance) at `now_s`. Errors: kInvalidArgument saying why.
[[nodiscard]] Result<KeyPackageFacts> key_package(std::string_view bytes, uint64_t now_s,
                                                  uint64_t skew_s);

enum class ProposalKind { kAdd, kUpdate, kRemove, kPreSharedKey, kGroupContextExtensions, kOther };

struct ProposalFacts {
  ProposalKind kind = ProposalKind::kOther;
  std::optional<KeyPackageFacts> added;  // kAdd (its KeyPackage is checked as above)
  uint32_t removed_leaf = 0;             // kRemove
  std::optional<std::string> policy;     // kGroupContextExtensions: the policy extension, if set.
};

// A PublicMessage carrying a proposal or a commit from a member.
struct HandshakeFacts {
  std::string group_id;
  uint64_t epoch = 0;
  uint32_t sender_leaf = 0;
  bool is_commit = false;
  std::string proposal_ref;               // A proposal: its ProposalRef, for later commits.
  std::vector<ProposalFacts> by_value;    // A proposal: one; a commit: those carried by value.
  std::vector<std::string> by_reference;  // A commit: ProposalRefs.
  bool has_path = false;
  std::string authenticated_data;
};

// Decodes a handshake message. Errors: kInvalidArgument when it is not an MLS 1.0 PublicMessage
// carrying a proposal or commit from a member, or when a proposal is of a kind the relay refuses
// (ReInit, ExternalInit), or an added KeyPackage fails key_package().
[[nodiscard]] Result<HandshakeFacts> handshake(std::string_view bytes, uint64_t now_s,
                                               uint64_t skew_s);

// The KeyPackageRefs a Welcome is encrypted to. Errors: kInvalidArgument.
[[nodiscard]] Result<std::vector<std::string>> welcome_targets(std::string_view bytes);

}  // namespace cercle::domain::mls_checks

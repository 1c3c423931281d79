// Pure helpers for the server (delivery service) to inspect handshake messages without any group
// secret (RFC 9750 6.4): decode an MLSMessage, read a PublicMessage's routing fields, list the
// membership changes a commit makes, compute KeyPackageRefs and list whom a Welcome is for.
// Nothing here authenticates a message: membership tags and signatures need group state. The
// server can still check that a commit's Adds match the Welcome it relays.
// Thread-safety: pure functions, thread-safe.
#pragma once

#include <optional>
#include <vector>

#include "cercle/mls/messages.h"
#include "cercle/mls/result.h"

namespace cercle::mls::inspect {

// Returns the MLSMessage of a whole buffer (kDecode on truncated, malformed or trailing bytes,
// kInvalid if the version is not mls10).
Result<MlsMessage> decode_message(BytesView data);

struct PublicMessageInfo {
  Bytes group_id;
  uint64_t epoch = 0;
  SenderType sender_type = SenderType::kMember;
  uint32_t sender_index = 0;  // leaf index for members
  ContentType content_type = ContentType::kApplication;
};
// Routing fields of a PublicMessage; kInvalid if `data` holds another wire format.
Result<PublicMessageInfo> public_message_info(BytesView data);

struct CommitSummary {
  std::vector<Bytes> added_key_package_refs;  // Adds carried by value
  std::vector<uint32_t> removed_leaves;       // Removes carried by value
  std::vector<Bytes> proposal_refs;           // proposals committed by reference
  bool has_path = false;
  bool changes_extensions = false;  // a GroupContextExtensions proposal by value
};
// Membership changes of a commit sent as PublicMessage; kInvalid if it is not a commit.
Result<CommitSummary> commit_summary(BytesView data);

// The proposal of a PublicMessage proposal, with its ProposalRef (to match later references).
struct ProposalSummary {
  Bytes proposal_ref;
  Proposal proposal;
};
Result<ProposalSummary> proposal_summary(BytesView data);

// KeyPackageRef of a KeyPackage given as MLSMessage(KeyPackage) or bare KeyPackage.
Result<Bytes> key_package_ref(BytesView key_package);
// The KeyPackageRefs a Welcome's `secrets` are encrypted to.
Result<std::vector<Bytes>> welcome_targets(BytesView welcome);

}  // namespace cercle::mls::inspect

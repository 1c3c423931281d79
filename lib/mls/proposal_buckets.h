// The proposals of a commit sorted by what they do, with the checks of RFC 9420 12.2 that every
// receiver makes on the list as a whole. Shared by the private group State and the PublicGroup
// that the relay follows, so that both judge a proposal list the same way. Internal to cercle_mls.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "cercle/mls/messages.h"
#include "cercle/mls/result.h"

namespace cercle::mls {

struct ProposalBuckets {
  const GroupContextExtensionsProposal* gce = nullptr;
  std::vector<std::pair<const UpdateProposal*, uint32_t>> updates;  // With their senders.
  std::vector<uint32_t> removes;
  std::vector<const KeyPackage*> adds;
  std::vector<PreSharedKeyId> psks;
};

// `proposals`: each with the leaf that sent it (the committer for those carried by value). The
// buckets point into `proposals`' Proposals, which must outlive them. kInvalid for a list no
// member accepts (two GroupContextExtensions, the committer's own Update or removal, a leaf
// touched twice, a duplicate or malformed PSK, an ExternalInit); kUnsupported for ReInit.
Result<ProposalBuckets> bucket_proposals(
    const std::vector<std::pair<const Proposal*, uint32_t>>& proposals, uint32_t committer);

}  // namespace cercle::mls

#include "proposal_buckets.h"

#include <algorithm>
#include <set>

#include "cercle/mls/crypto.h"
#include "cercle/mls/key_schedule.h"

namespace cercle::mls {

namespace {

Status add_psk(ProposalBuckets& b, const PskProposal& p) {
  MLS_ENSURE(std::find(b.psks.begin(), b.psks.end(), p.psk) == b.psks.end(), Errc::kInvalid,
             "duplicate PSK proposal");
  MLS_ENSURE(p.psk.psk_nonce.size() == kHashLen, Errc::kInvalid, "bad PSK nonce length");
  MLS_ENSURE(p.psk.psktype == kPskExternal || p.psk.usage == kResumptionApplication, Errc::kInvalid,
             "resumption PSK with a usage other than application");
  b.psks.push_back(p.psk);
  return {};
}

}  // namespace

Result<ProposalBuckets> bucket_proposals(
    const std::vector<std::pair<const Proposal*, uint32_t>>& proposals, uint32_t committer) {
  ProposalBuckets b;
  std::set<uint32_t> touched;
  for (const auto& [proposal, sender] : proposals) {
    const auto& v = proposal->value;
    if (auto* g = std::get_if<GroupContextExtensionsProposal>(&v)) {
      MLS_ENSURE(!b.gce, Errc::kInvalid, "several GroupContextExtensions proposals");
      b.gce = g;
    } else if (auto* u = std::get_if<UpdateProposal>(&v)) {
      MLS_ENSURE(sender != committer, Errc::kInvalid, "committer's own Update proposal");
      MLS_ENSURE(touched.insert(sender).second, Errc::kInvalid, "leaf updated twice");
      b.updates.emplace_back(u, sender);
    } else if (auto* r = std::get_if<RemoveProposal>(&v)) {
      MLS_ENSURE(r->removed != committer, Errc::kInvalid, "committer removes itself");
      MLS_ENSURE(touched.insert(r->removed).second, Errc::kInvalid, "leaf removed twice");
      b.removes.push_back(r->removed);
    } else if (auto* a = std::get_if<AddProposal>(&v)) {
      b.adds.push_back(&a->key_package);
    } else if (auto* p = std::get_if<PskProposal>(&v)) {
      MLS_CHECK(add_psk(b, *p));
    } else if (std::holds_alternative<ReInitProposal>(v)) {
      return make_error(Errc::kUnsupported, "ReInit is not supported");
    } else {
      return make_error(Errc::kInvalid, "ExternalInit in a member commit");
    }
  }
  return b;
}

}  // namespace cercle::mls

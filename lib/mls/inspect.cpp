#include "cercle/mls/inspect.h"

#include "cercle/mls/crypto.h"
#include "cercle/mls/key_package.h"

namespace cercle::mls::inspect {

Result<MlsMessage> decode_message(BytesView data) {
  MLS_TRY(MlsMessage m, decode_exact<MlsMessage>(data));
  MLS_ENSURE(m.version == kProtocolVersion, Errc::kInvalid, "not an MLS 1.0 message");
  return m;
}

static Result<PublicMessage> public_message(BytesView data) {
  MLS_TRY(MlsMessage m, decode_message(data));
  auto* pm = std::get_if<PublicMessage>(&m.body);
  MLS_ENSURE(pm, Errc::kInvalid, "not a PublicMessage");
  return std::move(*pm);
}

Result<PublicMessageInfo> public_message_info(BytesView data) {
  MLS_TRY(PublicMessage pm, public_message(data));
  return PublicMessageInfo{pm.content.group_id, pm.content.epoch, pm.content.sender.sender_type,
                           pm.content.sender.index, pm.content.content_type()};
}

Result<CommitSummary> commit_summary(BytesView data) {
  MLS_TRY(PublicMessage pm, public_message(data));
  const Commit* commit = std::get_if<Commit>(&pm.content.content);
  MLS_ENSURE(commit, Errc::kInvalid, "not a commit");
  CommitSummary s;
  s.has_path = commit->path.has_value();
  for (const auto& por : commit->proposals) {
    if (auto* ref = std::get_if<Opaque>(&por.value)) {
      s.proposal_refs.push_back(ref->data);
      continue;
    }
    const auto& p = std::get<Proposal>(por.value).value;
    if (auto* add = std::get_if<AddProposal>(&p)) {
      s.added_key_package_refs.push_back(cercle::mls::key_package_ref(add->key_package));
    } else if (auto* rm = std::get_if<RemoveProposal>(&p)) {
      s.removed_leaves.push_back(rm->removed);
    } else if (std::holds_alternative<GroupContextExtensionsProposal>(p)) {
      s.changes_extensions = true;
    }
  }
  return s;
}

Result<ProposalSummary> proposal_summary(BytesView data) {
  MLS_TRY(PublicMessage pm, public_message(data));
  const Proposal* p = std::get_if<Proposal>(&pm.content.content);
  MLS_ENSURE(p, Errc::kInvalid, "not a proposal");
  AuthenticatedContent ac{WireFormat::kPublicMessage, pm.content, pm.auth};
  return ProposalSummary{ref_hash("MLS 1.0 Proposal Reference", encode(ac)), *p};
}

Result<Bytes> key_package_ref(BytesView key_package) {
  MLS_TRY(KeyPackage kp, parse_key_package(key_package));
  return cercle::mls::key_package_ref(kp);
}

Result<std::vector<Bytes>> welcome_targets(BytesView welcome) {
  MLS_TRY(MlsMessage m, decode_message(welcome));
  auto* w = std::get_if<Welcome>(&m.body);
  MLS_ENSURE(w, Errc::kInvalid, "not a Welcome");
  std::vector<Bytes> out;
  for (const auto& s : w->secrets) out.push_back(s.new_member);
  return out;
}

}  // namespace cercle::mls::inspect

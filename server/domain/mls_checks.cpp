#include "server/domain/mls_checks.h"

#include <variant>

#include "client-lib/mls/inspect.h"
#include "client-lib/mls/key_package.h"

namespace cercle::domain::mls_checks {

namespace {

namespace mls = cercle::mls;

mls::BytesView view(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string str(const mls::Bytes& b) { return std::string(b.begin(), b.end()); }

Error invalid(std::string_view what, const mls::Error& e) {
  return make_error(Errc::kInvalidArgument, std::string(what) + ": " + e.message);
}

Result<KeyPackageFacts> facts_of(const mls::KeyPackage& kp, uint64_t now_s, uint64_t skew_s) {
  if (auto s = mls::validate_key_package(kp, now_s, skew_s); !s) {
    return invalid("the key package is not valid", s.error());
  }
  if (kp.leaf_node.credential.credential_type != mls::kCredentialBasic) {
    return make_error(Errc::kInvalidArgument, "the key package must carry a basic credential");
  }
  KeyPackageFacts facts{str(mls::key_package_ref(kp)), str(kp.leaf_node.signature_key),
                        str(kp.leaf_node.credential.identity)};
  if (const auto* type =
          mls::find_extension(kp.leaf_node.extensions, mls::kAccountTypeExtensionType)) {
    facts.has_account_type = true;
    facts.professional = type->extension_data.size() == 1 && type->extension_data[0] == 2;
  }
  return facts;
}

Result<ProposalFacts> proposal_facts(const mls::Proposal& p, uint64_t now_s, uint64_t skew_s) {
  ProposalFacts f;
  if (const auto* add = std::get_if<mls::AddProposal>(&p.value)) {
    auto kp = facts_of(add->key_package, now_s, skew_s);
    if (!kp) return std::move(kp).error();
    f.kind = ProposalKind::kAdd;
    f.added = std::move(*kp);
  } else if (const auto* rm = std::get_if<mls::RemoveProposal>(&p.value)) {
    f.kind = ProposalKind::kRemove;
    f.removed_leaf = rm->removed;
  } else if (std::holds_alternative<mls::UpdateProposal>(p.value)) {
    f.kind = ProposalKind::kUpdate;
  } else if (std::holds_alternative<mls::PskProposal>(p.value)) {
    f.kind = ProposalKind::kPreSharedKey;
  } else if (const auto* gce = std::get_if<mls::GroupContextExtensionsProposal>(&p.value)) {
    f.kind = ProposalKind::kGroupContextExtensions;
    if (const auto* ext = mls::find_extension(gce->extensions, mls::kRolesExtensionType)) {
      f.policy = str(ext->extension_data);
    }
  } else {
    return make_error(Errc::kInvalidArgument, "ReInit and ExternalInit proposals are not relayed");
  }
  return f;
}

}  // namespace

Result<KeyPackageFacts> key_package(std::string_view bytes, uint64_t now_s, uint64_t skew_s) {
  auto kp = mls::parse_key_package(view(bytes));
  if (!kp) return invalid("not an MLS key package", kp.error());
  return facts_of(*kp, now_s, skew_s);
}

Result<HandshakeFacts> handshake(std::string_view bytes, uint64_t now_s, uint64_t skew_s) {
  auto message = mls::inspect::decode_message(view(bytes));
  if (!message) return invalid("not an MLS message", message.error());
  const auto* pm = std::get_if<mls::PublicMessage>(&message->body);
  if (!pm) return make_error(Errc::kInvalidArgument, "handshake messages must be PublicMessages");
  const auto& content = pm->content;
  if (content.sender.sender_type != mls::SenderType::kMember) {
    return make_error(Errc::kInvalidArgument, "only members send handshake messages here");
  }
  HandshakeFacts facts;
  facts.authenticated_data = str(content.authenticated_data);
  facts.group_id = str(content.group_id);
  facts.epoch = content.epoch;
  facts.sender_leaf = content.sender.index;
  if (const auto* proposal = std::get_if<mls::Proposal>(&content.content)) {
    auto f = proposal_facts(*proposal, now_s, skew_s);
    if (!f) return std::move(f).error();
    facts.by_value.push_back(std::move(*f));
    auto summary = mls::inspect::proposal_summary(view(bytes));
    if (!summary) return invalid("bad proposal", summary.error());
    facts.proposal_ref = str(summary->proposal_ref);
    return facts;
  }
  const auto* commit = std::get_if<mls::Commit>(&content.content);
  if (!commit) return make_error(Errc::kInvalidArgument, "not a proposal or a commit");
  facts.is_commit = true;
  facts.has_path = commit->path.has_value();
  for (const auto& por : commit->proposals) {
    if (const auto* ref = std::get_if<mls::Opaque>(&por.value)) {
      facts.by_reference.push_back(str(ref->data));
      continue;
    }
    auto f = proposal_facts(std::get<mls::Proposal>(por.value), now_s, skew_s);
    if (!f) return std::move(f).error();
    facts.by_value.push_back(std::move(*f));
  }
  return facts;
}

Result<std::vector<std::string>> welcome_targets(std::string_view bytes) {
  auto targets = mls::inspect::welcome_targets(view(bytes));
  if (!targets) return invalid("not an MLS Welcome", targets.error());
  std::vector<std::string> out;
  for (const auto& t : *targets) out.push_back(str(t));
  return out;
}

}  // namespace cercle::domain::mls_checks

#include "server/domain/mls_checks.h"

#include <algorithm>
#include <variant>

#include "cercle/mls/inspect.h"
#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"

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

Error invalid(std::string message) {
  return make_error(Errc::kInvalidArgument, std::move(message));
}

bool lists_roles(const mls::Capabilities& caps) {
  return std::find(caps.extensions.begin(), caps.extensions.end(),
                   mls::Uint16{policy::kRolesExtensionType}) != caps.extensions.end();
}

// A report key (0xF0A2) is an X25519 public key members seal reports to: one of another size would
// leave the device without the reports meant for it.
bool bad_report_key(const std::vector<mls::Extension>& extensions) {
  const auto* e = mls::find_extension(extensions, policy::kReportKeyExtensionType);
  return e && e->extension_data.size() != policy::kReportKeyBytes;
}

constexpr std::string_view kBadReportKey = "the report key extension (0xF0A2) must be 32 bytes";

std::string_view source_name(mls::LeafNodeSource s) {
  switch (s) {
    case mls::LeafNodeSource::kKeyPackage:
      return "key_package";
    case mls::LeafNodeSource::kUpdate:
      return "update";
    case mls::LeafNodeSource::kCommit:
      return "commit";
  }
  return "unknown";
}

// Checks a leaf an Update or an UpdatePath puts at `leaf_index` of `group_id`: its source (so no
// lifetime, which only key_package leaves carry), a basic credential, what validate_leaf_node
// checks (suite, capabilities listing its credential and extensions, no duplicated extension, key
// size, its signature over the group id and leaf index), 0xF0A0 in its capabilities, and a report
// key (0xF0A2), if any, of 32 bytes.
Result<LeafFacts> leaf_facts(const mls::LeafNode& leaf, mls::LeafNodeSource expected,
                             std::string_view group_id, uint32_t leaf_index) {
  if (leaf.source != expected) {
    return invalid("the leaf's leaf_node_source must be " + std::string(source_name(expected)) +
                   ", not " + std::string(source_name(leaf.source)));
  }
  if (leaf.credential.credential_type != mls::kCredentialBasic) {
    return make_error(Errc::kForbidden, "a member's leaf must carry a basic credential");
  }
  if (auto s = mls::validate_leaf_node(leaf, expected, view(group_id), leaf_index); !s) {
    return invalid("the leaf node is not valid", s.error());
  }
  if (!lists_roles(leaf.capabilities)) {
    return invalid("the leaf's capabilities must list the group rules extension (0xF0A0)");
  }
  if (bad_report_key(leaf.extensions)) return invalid(std::string(kBadReportKey));
  LeafFacts f{str(leaf.credential.identity), str(leaf.signature_key), str(leaf.encryption_key),
              std::nullopt};
  if (const auto* t = mls::find_extension(leaf.extensions, policy::kAccountTypeExtensionType)) {
    f.account_type = str(t->extension_data);
  }
  return f;
}

Result<KeyPackageFacts> facts_of(const mls::KeyPackage& kp, uint64_t now_s, uint64_t skew_s) {
  if (auto s = mls::validate_key_package(kp, now_s, skew_s); !s) {
    return invalid("the key package is not valid", s.error());
  }
  if (kp.leaf_node.credential.credential_type != mls::kCredentialBasic) {
    return invalid("the key package must carry a basic credential");
  }
  if (!lists_roles(kp.leaf_node.capabilities)) {
    return invalid("the key package's capabilities must list the group rules extension (0xF0A0)");
  }
  if (bad_report_key(kp.leaf_node.extensions)) return invalid(std::string(kBadReportKey));
  KeyPackageFacts facts{str(mls::key_package_ref(kp)), str(kp.leaf_node.signature_key),
                        str(kp.leaf_node.credential.identity)};
  facts.encryption_key = str(kp.leaf_node.encryption_key);
  facts.init_key = str(kp.init_key);
  if (const auto* type =
          mls::find_extension(kp.leaf_node.extensions, policy::kAccountTypeExtensionType)) {
    facts.has_account_type = true;
    facts.professional = type->extension_data.size() == 1 && type->extension_data[0] == 2;
  }
  return facts;
}

// `sender` is the leaf that made the proposal (an Update's leaf is signed for it).
Result<ProposalFacts> proposal_facts(const mls::Proposal& p, std::string_view group_id,
                                     uint32_t sender, uint64_t now_s, uint64_t skew_s) {
  ProposalFacts f;
  if (const auto* add = std::get_if<mls::AddProposal>(&p.value)) {
    auto kp = facts_of(add->key_package, now_s, skew_s);
    if (!kp) return std::move(kp).error();
    f.kind = ProposalKind::kAdd;
    f.added = std::move(*kp);
  } else if (const auto* rm = std::get_if<mls::RemoveProposal>(&p.value)) {
    f.kind = ProposalKind::kRemove;
    f.removed_leaf = rm->removed;
  } else if (const auto* up = std::get_if<mls::UpdateProposal>(&p.value)) {
    auto leaf = leaf_facts(up->leaf_node, mls::LeafNodeSource::kUpdate, group_id, sender);
    if (!leaf) return std::move(leaf).error();
    f.kind = ProposalKind::kUpdate;
    f.leaf = std::move(*leaf);
  } else if (std::holds_alternative<mls::PskProposal>(p.value)) {
    f.kind = ProposalKind::kPreSharedKey;
  } else if (std::holds_alternative<mls::ReInitProposal>(p.value)) {
    f.kind = ProposalKind::kReInit;
  } else if (std::holds_alternative<mls::ExternalInitProposal>(p.value)) {
    f.kind = ProposalKind::kExternalInit;
  } else {
    const auto& gce = std::get<mls::GroupContextExtensionsProposal>(p.value);
    if (mls::has_duplicate_extensions(gce.extensions)) {
      return invalid("the group context extensions repeat an extension");
    }
    f.kind = ProposalKind::kGroupContextExtensions;
    for (const auto& e : gce.extensions) f.extension_types.push_back(e.extension_type);
    if (const auto* ext = mls::find_extension(gce.extensions, policy::kRolesExtensionType)) {
      f.policy = str(ext->extension_data);
    }
  }
  return f;
}

Status read_commit(const mls::FramedContent& content, const mls::Commit& commit, uint64_t now_s,
                   uint64_t skew_s, HandshakeFacts& facts) {
  facts.is_commit = true;
  facts.has_path = commit.path.has_value();
  for (const auto& por : commit.proposals) {
    if (const auto* ref = std::get_if<mls::Opaque>(&por.value)) {
      facts.by_reference.push_back(str(ref->data));
      continue;
    }
    auto f = proposal_facts(std::get<mls::Proposal>(por.value), facts.group_id,
                            content.sender.index, now_s, skew_s);
    if (!f) return std::move(f).error();
    facts.by_value.push_back(std::move(*f));
  }
  if (!commit.path) return Ok{};
  auto leaf = leaf_facts(commit.path->leaf_node, mls::LeafNodeSource::kCommit, facts.group_id,
                         content.sender.index);
  if (!leaf) return std::move(leaf).error();
  facts.path_leaf = std::move(*leaf);
  for (const auto& node : commit.path->nodes) facts.path_keys.push_back(str(node.encryption_key));
  return Ok{};
}

}  // namespace

std::string_view name_of(ProposalKind kind) {
  switch (kind) {
    case ProposalKind::kAdd:
      return "Add";
    case ProposalKind::kUpdate:
      return "Update";
    case ProposalKind::kRemove:
      return "Remove";
    case ProposalKind::kPreSharedKey:
      return "PreSharedKey";
    case ProposalKind::kReInit:
      return "ReInit";
    case ProposalKind::kExternalInit:
      return "ExternalInit";
    case ProposalKind::kGroupContextExtensions:
      return "GroupContextExtensions";
  }
  return "unknown";
}

Result<KeyPackageFacts> key_package(std::string_view bytes, uint64_t now_s, uint64_t skew_s) {
  auto kp = mls::parse_key_package(view(bytes));
  if (!kp) return invalid("not an MLS key package", kp.error());
  return facts_of(*kp, now_s, skew_s);
}

static Status check_envelope(const mls::FramedContent& content, const Envelope& expected) {
  if (str(content.group_id) != expected.group_id) {
    return invalid("the message is for another MLS group");
  }
  if (content.epoch != expected.epoch)
    return invalid("the message's MLS epoch is not the request's");
  if (content.sender.index != expected.sender_leaf) {
    return make_error(Errc::kForbidden, "the message is sent from another member's leaf");
  }
  return Ok{};
}

Result<HandshakeFacts> handshake(std::string_view bytes, uint64_t now_s, uint64_t skew_s,
                                 const Envelope* expected) {
  auto message = mls::inspect::decode_message(view(bytes));
  if (!message) return invalid("not an MLS message", message.error());
  const auto* pm = std::get_if<mls::PublicMessage>(&message->body);
  if (!pm) return invalid("handshake messages must be PublicMessages");
  const auto& content = pm->content;
  if (content.sender.sender_type != mls::SenderType::kMember) {
    return invalid("only members send handshake messages here");
  }
  if (expected) {
    if (auto s = check_envelope(content, *expected); !s) return std::move(s).error();
  }
  HandshakeFacts facts;
  facts.authenticated_data = str(content.authenticated_data);
  facts.group_id = str(content.group_id);
  facts.epoch = content.epoch;
  facts.sender_leaf = content.sender.index;
  if (const auto* proposal = std::get_if<mls::Proposal>(&content.content)) {
    auto f = proposal_facts(*proposal, facts.group_id, facts.sender_leaf, now_s, skew_s);
    if (!f) return std::move(f).error();
    facts.by_value.push_back(std::move(*f));
    auto summary = mls::inspect::proposal_summary(view(bytes));
    if (!summary) return invalid("bad proposal", summary.error());
    facts.proposal_ref = str(summary->proposal_ref);
    return facts;
  }
  const auto* commit = std::get_if<mls::Commit>(&content.content);
  if (!commit) return invalid("not a proposal or a commit");
  if (auto s = read_commit(content, *commit, now_s, skew_s, facts); !s) {
    return std::move(s).error();
  }
  return facts;
}

Status application(std::string_view bytes, std::string_view group_id, uint64_t epoch) {
  auto message = mls::inspect::decode_message(view(bytes));
  if (!message) return invalid("an application message must be an MLS message", message.error());
  const auto* pm = std::get_if<mls::PrivateMessage>(&message->body);
  if (!pm) return invalid("an application message must be an MLS PrivateMessage");
  if (pm->content_type != mls::ContentType::kApplication) {
    return invalid("proposals and commits are sent with their own kinds, never as application");
  }
  if (str(pm->group_id) != group_id) return invalid("the message is for another MLS group");
  if (pm->epoch != epoch) return invalid("the message's MLS epoch is not the request's");
  return Ok{};
}

Result<std::vector<std::string>> welcome_targets(std::string_view bytes) {
  auto targets = mls::inspect::welcome_targets(view(bytes));
  if (!targets) return invalid("not an MLS Welcome", targets.error());
  std::vector<std::string> out;
  for (const auto& t : *targets) out.push_back(str(t));
  return out;
}

}  // namespace cercle::domain::mls_checks

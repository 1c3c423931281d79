// State: processing incoming handshake and application messages (RFC 9420 6, 12.4.2).
#include <set>

#include "cercle/mls/framing.h"
#include "cercle/mls/state.h"
#include "state_internal.h"

namespace cercle::mls {

Result<AuthenticatedContent> State::unprotect(const MlsMessage& message, State& next) const {
  MLS_ENSURE(message.version == kProtocolVersion, Errc::kInvalid, "unsupported protocol version");
  AuthenticatedContent ac;
  if (auto* pub = std::get_if<PublicMessage>(&message.body)) {
    MLS_ENSURE(pub->content.group_id == context_.group_id, Errc::kWrongEpoch, "other group");
    MLS_ENSURE(pub->content.epoch == context_.epoch, Errc::kWrongEpoch, "other epoch");
    MLS_ENSURE(pub->content.sender.sender_type == SenderType::kMember, Errc::kUnsupported,
               "only member senders are supported");
    MLS_TRY(ac, from_public_message(*pub, secrets_.membership_key, context_));
  } else if (auto* priv = std::get_if<PrivateMessage>(&message.body)) {
    MLS_ENSURE(priv->group_id == context_.group_id, Errc::kWrongEpoch, "other group");
    MLS_ENSURE(priv->epoch == context_.epoch, Errc::kWrongEpoch, "other epoch");
    MLS_TRY(ac, decrypt_private_message(*priv, next.secret_tree_, secrets_.sender_data_secret));
  } else {
    return make_error(Errc::kInvalid, "not a PublicMessage or PrivateMessage");
  }
  uint32_t sender = ac.content.sender.index;
  const LeafNode* leaf = tree_->leaf(sender);
  MLS_ENSURE(leaf, Errc::kInvalid, "sender is not a member");
  MLS_ENSURE(sender != own_leaf(), Errc::kInvalid, "own message (adopt the pending state)");
  MLS_CHECK(verify_content_signature(ac, leaf->signature_key, context_));
  return ac;
}

Result<ProcessOutput> State::process(BytesView mls_message) const {
  MLS_TRY(MlsMessage message, decode_exact<MlsMessage>(mls_message));
  State next = *this;
  MLS_TRY(AuthenticatedContent ac, unprotect(message, next));
  switch (ac.content.content_type()) {
    case ContentType::kApplication: {
      ProcessOutput out;
      out.kind = ContentKind::kApplication;
      out.sender = ac.content.sender.index;
      out.application_data = std::get<ApplicationData>(ac.content.content).data;
      out.authenticated_data = ac.content.authenticated_data;
      out.state = std::move(next);
      return out;
    }
    case ContentType::kProposal:
      return next.process_proposal(ac);
    case ContentType::kCommit:
      return next.process_commit(ac);
  }
  return make_error(Errc::kInvalid, "unknown content type");
}

Result<ProcessOutput> State::process_proposal(const AuthenticatedContent& ac) const {
  const Proposal& p = std::get<Proposal>(ac.content.content);
  uint32_t sender = ac.content.sender.index;
  // Check what can be checked alone now; the full list is validated at commit time.
  if (auto* u = std::get_if<UpdateProposal>(&p.value)) {
    MLS_CHECK(validate_leaf_node(u->leaf_node, LeafNodeSource::kUpdate, context_.group_id, sender));
    MLS_CHECK(check_same_credential(*tree_->leaf(sender), u->leaf_node));
  } else if (auto* a = std::get_if<AddProposal>(&p.value)) {
    MLS_CHECK(validate_key_package(a->key_package, std::nullopt));
  } else if (auto* r = std::get_if<RemoveProposal>(&p.value)) {
    MLS_ENSURE(tree_->leaf(r->removed), Errc::kInvalid, "Remove of a blank leaf");
  } else if (std::holds_alternative<ExternalInitProposal>(p.value)) {
    return make_error(Errc::kInvalid, "ExternalInit sent as a proposal");
  }
  ProcessOutput out;
  out.kind = ContentKind::kProposal;
  out.sender = sender;
  out.authenticated_data = ac.content.authenticated_data;
  out.state = *this;
  out.state.proposals_.push_back(CachedProposal{proposal_ref(ac), p, sender});
  return out;
}

Result<std::vector<ResolvedProposal>> State::resolve_commit(const Commit& commit,
                                                            uint32_t committer) const {
  std::vector<ResolvedProposal> out;
  for (const auto& por : commit.proposals) {
    if (auto* p = std::get_if<Proposal>(&por.value)) {
      out.push_back(ResolvedProposal{*p, committer, {}});
      continue;
    }
    const Bytes& ref = std::get<Opaque>(por.value).data;
    const CachedProposal* found = nullptr;
    for (const auto& c : proposals_) {
      if (c.ref == ref) found = &c;
    }
    MLS_ENSURE(found, Errc::kNotFound, "commit references an unknown proposal");
    out.push_back(ResolvedProposal{found->proposal, found->sender, ref});
  }
  return out;
}

Result<Secret> State::merge_update_path(RatchetTree& tree, PrivateTree& priv, uint32_t committer,
                                        const UpdatePath& path,
                                        const AppliedProposals& applied) const {
  MLS_CHECK(
      validate_leaf_node(path.leaf_node, LeafNodeSource::kCommit, context_.group_id, committer));
  MLS_CHECK(check_leaf_fits_group(path.leaf_node, committer, tree, applied.extensions));
  MLS_CHECK(check_same_credential(*tree.leaf(committer), path.leaf_node));
  MLS_ENSURE(path.leaf_node.encryption_key != tree.leaf(committer)->encryption_key, Errc::kInvalid,
             "committer kept its encryption key");
  std::vector<Bytes> keys;
  std::set<Bytes> seen = {path.leaf_node.encryption_key};
  for (const auto& n : path.nodes) {
    MLS_ENSURE(seen.insert(n.encryption_key).second, Errc::kInvalid, "repeated path key");
    keys.push_back(n.encryption_key);
  }
  // No key of the UpdatePath may already be in the tree (RFC 9420 12.4.2); the committer's
  // own leaf is about to be replaced.
  for (uint32_t i = 0; i < tree.width(); ++i) {
    const Bytes* k = tree.encryption_key(i);
    MLS_ENSURE(!k || i == 2 * committer || !seen.count(*k), Errc::kInvalid,
               "UpdatePath key already in the tree");
  }
  auto fdp = tree.filtered_direct_path(committer);
  MLS_ENSURE(fdp.size() == keys.size(), Errc::kInvalid, "UpdatePath has the wrong length");
  Bytes ph = tree.merge_path_keys(committer, fdp, keys);
  MLS_ENSURE(ph == path.leaf_node.parent_hash, Errc::kVerify, "bad parent hash in UpdatePath");
  tree.set_leaf(committer, path.leaf_node);
  GroupContext provisional = context_;
  provisional.epoch = context_.epoch + 1;
  provisional.tree_hash = tree.root_hash();
  provisional.extensions = applied.extensions;
  std::set<uint32_t> new_leaves(applied.added_leaves.begin(), applied.added_leaves.end());
  return decrypt_update_path(tree, priv, committer, fdp, path, encode(provisional), new_leaves);
}

Result<ProcessOutput> State::process_commit(const AuthenticatedContent& ac) const {
  const Commit& commit = std::get<Commit>(ac.content.content);
  uint32_t committer = ac.content.sender.index;
  MLS_TRY(auto resolved, resolve_commit(commit, committer));
  MLS_TRY(AppliedProposals applied, apply_proposals(resolved, committer));
  MLS_TRY(auto psks, resolve_psks(applied.psks));
  MLS_ENSURE(commit.path || !applied.path_required_on_receipt, Errc::kInvalid,
             "commit requires a path");
  ProcessOutput out;
  out.kind = ContentKind::kCommit;
  out.sender = committer;
  out.authenticated_data = ac.content.authenticated_data;
  for (const auto& rp : resolved)
    out.proposals.push_back(CachedProposal{rp.ref, rp.proposal, rp.sender});
  if (applied.self_removed) {
    out.removed = true;
    out.state = *this;
    return out;
  }
  RatchetTree tree = std::move(applied.tree);
  PrivateTree priv = priv_;
  if (applied.own_leaf_key) priv.set_key(2 * own_leaf(), *applied.own_leaf_key);
  Secret commit_secret(Bytes(kHashLen, 0));
  if (commit.path) {
    MLS_TRY(commit_secret, merge_update_path(tree, priv, committer, *commit.path, applied));
  }
  NextEpoch next =
      next_epoch(tree, applied.extensions, ac, commit_secret, compute_psk_secret(psks));
  MLS_ENSURE(ct_equal(next.confirmation_tag, ac.auth.confirmation_tag), Errc::kVerify,
             "bad confirmation tag");
  out.state = successor(next, std::move(tree), std::move(priv));
  return out;
}

}  // namespace cercle::mls

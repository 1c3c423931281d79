// State: proposal-list validation and application (RFC 9420 12.2-12.3), epoch transition and
// commit creation with Welcome (12.4).
#include <algorithm>
#include <set>

#include "cercle/mls/framing.h"
#include "cercle/mls/state.h"
#include "cercle/mls/tree_math.h"
#include "proposal_buckets.h"
#include "state_internal.h"

namespace cercle::mls {

Result<AppliedProposals> State::apply_proposals(const std::vector<ResolvedProposal>& proposals,
                                                uint32_t committer) const {
  std::vector<std::pair<const Proposal*, uint32_t>> list;
  for (const auto& rp : proposals) list.emplace_back(&rp.proposal, rp.sender);
  MLS_TRY(ProposalBuckets b, bucket_proposals(list, committer));
  AppliedProposals out;
  out.tree = *tree_;
  out.extensions = b.gce ? b.gce->extensions : context_.extensions;
  // RFC 9420 12.4 requires a path with GroupContextExtensions too (12.4.2, processing, names only
  // Update and Remove). ts-mls 1.6 (the web client) commits one without, so a received commit may
  // omit it, as PublicGroup allows for the relay: no key is kept longer than without the change,
  // the extensions only say the group's rules. This client's own commits keep the path.
  const bool membership_path = proposals.empty() || !b.updates.empty() || !b.removes.empty();
  out.path_required = membership_path || b.gce;
  out.path_required_on_receipt = membership_path;
  for (const auto& [u, sender] : b.updates) {
    const LeafNode* old = tree_->leaf(sender);
    MLS_ENSURE(old, Errc::kInvalid, "Update from a blank leaf");
    MLS_CHECK(validate_leaf_node(u->leaf_node, LeafNodeSource::kUpdate, context_.group_id, sender));
    MLS_CHECK(check_same_credential(*old, u->leaf_node));
    MLS_ENSURE(u->leaf_node.encryption_key != old->encryption_key, Errc::kInvalid,
               "Update keeps the old encryption key");
    MLS_CHECK(check_leaf_fits_group(u->leaf_node, sender, out.tree, out.extensions));
    out.tree.update_leaf(sender, u->leaf_node);
    if (sender == own_leaf()) {
      for (const auto& k : pending_update_keys_) {
        if (k.public_key == u->leaf_node.encryption_key) out.own_leaf_key = k;
      }
      MLS_ENSURE(out.own_leaf_key, Errc::kNotFound, "committed Update has no private key");
    }
  }
  for (uint32_t leaf : b.removes) {
    MLS_ENSURE(out.tree.leaf(leaf), Errc::kInvalid, "Remove of a blank leaf");
    if (leaf == own_leaf()) out.self_removed = true;
    out.tree.remove_leaf(leaf);
    out.tree.truncate();
  }
  // Lifetimes are checked on both sides (RFC 9420 7.3 recommends it for receivers); receivers
  // allow for clock skew so that a commit the server accepted does not fork the group.
  const uint64_t now = now_seconds();
  const uint64_t skew = committer == own_leaf() ? 0 : kLifetimeSkewSeconds;
  for (const KeyPackage* kp : b.adds) {
    MLS_CHECK(validate_key_package(*kp, now, skew));
    MLS_CHECK(check_leaf_fits_group(kp->leaf_node, UINT32_MAX, out.tree, out.extensions));
    for (const auto& other : out.added_key_packages) {
      MLS_ENSURE(other.init_key != kp->init_key, Errc::kInvalid, "duplicate init key");
    }
    out.added_leaves.push_back(out.tree.add_leaf(kp->leaf_node));
    out.added_key_packages.push_back(*kp);
  }
  if (b.gce) MLS_CHECK(check_members_support(out.tree, out.extensions));
  out.psks = std::move(b.psks);
  return out;
}

Result<std::vector<PskWithId>> State::resolve_psks(const std::vector<PreSharedKeyId>& ids) const {
  std::vector<PskWithId> out;
  for (const auto& id : ids) {
    const Secret* psk = nullptr;
    if (id.psktype == kPskExternal) {
      auto it = external_psks_.find(id.psk_id);
      if (it != external_psks_.end()) psk = &it->second;
    } else if (id.psk_group_id == context_.group_id) {
      auto it = resumption_psks_.find(id.psk_epoch);
      if (it != resumption_psks_.end()) psk = &it->second;
    }
    MLS_ENSURE(psk, Errc::kNotFound, "unknown PSK");
    out.push_back(PskWithId{id, *psk});
  }
  return out;
}

NextEpoch State::next_epoch(const RatchetTree& tree, const std::vector<Extension>& extensions,
                            const AuthenticatedContent& commit, const Secret& commit_secret,
                            const Secret& psk_secret) const {
  NextEpoch n;
  n.context = context_;
  n.context.epoch = context_.epoch + 1;
  n.context.tree_hash = tree.root_hash();
  n.context.confirmed_transcript_hash = confirmed_transcript_hash(interim_transcript_hash_, commit);
  n.context.extensions = extensions;
  n.secrets = EpochSecrets::derive(secrets_.init_secret.view(), commit_secret.view(),
                                   psk_secret.view(), encode(n.context));
  n.confirmation_tag =
      hmac_sha256(n.secrets.confirmation_key.view(), n.context.confirmed_transcript_hash);
  return n;
}

State State::successor(const NextEpoch& next, RatchetTree tree, PrivateTree priv) const {
  State s;
  s.context_ = next.context;
  priv.prune(tree);
  s.tree_ = std::make_shared<const RatchetTree>(std::move(tree));
  s.priv_ = std::move(priv);
  s.signer_ = signer_;
  s.secrets_ = next.secrets;
  s.secret_tree_ = SecretTree(next.secrets.encryption_secret, s.tree_->n_leaves());
  s.interim_transcript_hash_ =
      interim_transcript_hash(next.context.confirmed_transcript_hash, next.confirmation_tag);
  s.resumption_psks_ = resumption_psks_;
  s.resumption_psks_[s.context_.epoch] = next.secrets.resumption_psk;
  while (s.resumption_psks_.size() > kResumptionPskWindow) {
    s.resumption_psks_.erase(s.resumption_psks_.begin());
  }
  s.external_psks_ = external_psks_;
  return s;
}

Result<std::vector<ProposalOrRef>> State::commit_proposal_list(const CommitOptions& o) const {
  std::vector<ProposalOrRef> list;
  std::set<uint32_t> removed(o.remove_leaves.begin(), o.remove_leaves.end());
  for (uint32_t leaf : o.remove_leaves) {
    MLS_ENSURE(tree_->leaf(leaf) && leaf != own_leaf(), Errc::kInvalid, "cannot remove that leaf");
  }
  if (o.include_pending_proposals) {
    for (const auto& p : proposals_) {
      if (o.pending_filter && !o.pending_filter(p)) continue;
      // Skip what this commit may not carry: our own Updates, Removes of us or of leaves
      // removed anyway, and Updates of removed members (RFC 9420 12.2 prefers the Remove).
      if (auto* r = std::get_if<RemoveProposal>(&p.proposal.value)) {
        if (r->removed == own_leaf() || !removed.insert(r->removed).second) continue;
      }
      if (std::holds_alternative<UpdateProposal>(p.proposal.value) &&
          (p.sender == own_leaf() || removed.count(p.sender))) {
        continue;
      }
      list.push_back(ProposalOrRef{Opaque{p.ref}});
    }
  }
  if (o.group_context_extensions) {
    list.push_back(
        ProposalOrRef{Proposal{GroupContextExtensionsProposal{*o.group_context_extensions}}});
  }
  for (uint32_t leaf : o.remove_leaves)
    list.push_back(ProposalOrRef{Proposal{RemoveProposal{leaf}}});
  for (const auto& kp_bytes : o.add_key_packages) {
    MLS_TRY(KeyPackage kp, parse_key_package(kp_bytes));
    list.push_back(ProposalOrRef{Proposal{AddProposal{std::move(kp)}}});
  }
  for (const auto& p : o.extra_proposals) list.push_back(ProposalOrRef{p});
  for (const auto& id : o.external_psk_ids) {
    PreSharedKeyId psk{kPskExternal, id, 0, {}, 0, random_bytes(kHashLen)};
    list.push_back(ProposalOrRef{Proposal{PskProposal{psk}}});
  }
  return list;
}

Result<CommitOutput> State::commit(const CommitOptions& options) const {
  MLS_TRY(auto list, commit_proposal_list(options));
  Commit commit{list, std::nullopt};
  MLS_TRY(auto resolved, resolve_commit(commit, own_leaf()));
  MLS_TRY(AppliedProposals applied, apply_proposals(resolved, own_leaf()));
  MLS_TRY(auto psks, resolve_psks(applied.psks));
  RatchetTree tree = applied.tree;
  PrivateTree priv = priv_;
  Secret commit_secret(Bytes(kHashLen, 0));
  std::optional<PreparedPath> prepared;
  if (!options.omit_path && (options.force_path || applied.path_required)) {
    LeafNode leaf_template = *tree_->leaf(own_leaf());
    const SignaturePrivateKey& leaf_signer =
        options.path_leaf ? apply_leaf_change(leaf_template, *options.path_leaf, signer_) : signer_;
    MLS_TRY(prepared,
            prepare_update_path(tree, own_leaf(), leaf_template, leaf_signer, context_.group_id));
    GroupContext provisional = context_;
    provisional.epoch = context_.epoch + 1;
    provisional.tree_hash = tree.root_hash();
    provisional.extensions = applied.extensions;
    std::set<uint32_t> new_leaves(applied.added_leaves.begin(), applied.added_leaves.end());
    MLS_TRY(commit.path, encrypt_update_path(tree, *prepared, encode(provisional), new_leaves));
    MLS_CHECK(adopt_prepared_path(priv, tree, *prepared));
    commit_secret = prepared->commit_secret;
  }
  FramedContent fc{context_.group_id, context_.epoch, Sender{SenderType::kMember, own_leaf()},
                   options.authenticated_data, commit};
  AuthenticatedContent ac =
      sign_content(WireFormat::kPublicMessage, std::move(fc), signer_, context_);
  NextEpoch next =
      next_epoch(tree, applied.extensions, ac, commit_secret, compute_psk_secret(psks));
  ac.auth.confirmation_tag = next.confirmation_tag;
  MLS_TRY(PublicMessage pm, to_public_message(ac, secrets_.membership_key, context_));
  State pending = successor(next, std::move(tree), std::move(priv));
  std::optional<Bytes> welcome;
  if (!applied.added_leaves.empty()) {
    MLS_TRY(welcome, make_welcome(pending, applied, prepared, psks));
  }
  return CommitOutput{encode(MlsMessage{kProtocolVersion, std::move(pm)}), std::move(welcome),
                      applied.added_leaves, std::move(pending)};
}

Result<Bytes> State::make_welcome(const State& next, const AppliedProposals& applied,
                                  const std::optional<PreparedPath>& path,
                                  const std::vector<PskWithId>& psks) const {
  GroupInfo info;
  info.group_context = next.context_;
  info.extensions.push_back(Extension{kExtRatchetTree, next.tree_->encode_bytes()});
  Bytes tag_input = next.context_.confirmed_transcript_hash;
  info.confirmation_tag = hmac_sha256(next.secrets_.confirmation_key.view(), tag_input);
  info.signer = own_leaf();
  info.signature = sign_with_label(signer_, "GroupInfoTBS", info.to_be_signed());
  Secret key = welcome_key(next.secrets_.welcome_secret);
  Secret nonce = welcome_nonce(next.secrets_.welcome_secret);
  Welcome w;
  MLS_TRY(w.encrypted_group_info, aead_seal(key.view(), nonce.view(), {}, encode(info)));
  for (size_t i = 0; i < applied.added_leaves.size(); ++i) {
    const KeyPackage& kp = applied.added_key_packages[i];
    GroupSecrets gs;
    gs.joiner_secret = next.secrets_.joiner_secret;
    if (path) gs.path_secret = path_secret_for(*path, applied.added_leaves[i]);
    for (const auto& p : psks) gs.psks.push_back(p.id);
    MLS_TRY(auto ct,
            encrypt_with_label(kp.init_key, "Welcome", w.encrypted_group_info, encode(gs)));
    w.secrets.push_back(EncryptedGroupSecrets{key_package_ref(kp), std::move(ct)});
  }
  return encode(MlsMessage{kProtocolVersion, std::move(w)});
}

}  // namespace cercle::mls

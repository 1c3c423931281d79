#include "cercle/mls/public_group.h"

#include <algorithm>
#include <set>

#include "cercle/mls/crypto.h"
#include "cercle/mls/framing.h"
#include "cercle/mls/key_package.h"
#include "cercle/mls/key_schedule.h"
#include "cercle/mls/tree_math.h"
#include "proposal_buckets.h"

namespace cercle::mls {
namespace {

struct Applied {
  RatchetTree tree;
  std::vector<Extension> extensions;
  std::vector<uint32_t> added;
  std::vector<Bytes> added_refs;
  std::vector<uint32_t> removed;
  bool path_required = false;
};

Status apply_updates(Applied& out, const ProposalBuckets& b, const RatchetTree& before,
                     BytesView group_id) {
  for (const auto& [u, sender] : b.updates) {
    const LeafNode* old = before.leaf(sender);
    MLS_ENSURE(old, Errc::kInvalid, "Update from a blank leaf");
    MLS_CHECK(validate_leaf_node(u->leaf_node, LeafNodeSource::kUpdate, group_id, sender));
    MLS_ENSURE(u->leaf_node.encryption_key != old->encryption_key, Errc::kInvalid,
               "Update keeps the old encryption key");
    MLS_CHECK(check_leaf_fits_group(u->leaf_node, sender, out.tree, out.extensions));
    out.tree.update_leaf(sender, u->leaf_node);
  }
  return {};
}

Status apply_adds(Applied& out, const ProposalBuckets& b, std::optional<uint64_t> now_s) {
  std::vector<const KeyPackage*> added;
  for (const KeyPackage* kp : b.adds) {
    MLS_CHECK(validate_key_package(*kp, now_s, kPublicLifetimeSkewSeconds));
    MLS_CHECK(check_leaf_fits_group(kp->leaf_node, UINT32_MAX, out.tree, out.extensions));
    for (const KeyPackage* other : added) {
      MLS_ENSURE(other->init_key != kp->init_key, Errc::kInvalid, "duplicate init key");
    }
    out.added.push_back(out.tree.add_leaf(kp->leaf_node));
    out.added_refs.push_back(key_package_ref(*kp));
    added.push_back(kp);
  }
  return {};
}

// The tree and extensions after the proposals, in the order of RFC 9420 12.3.
template <class Resolved>
Result<Applied> apply_proposals(const RatchetTree& tree, const GroupContext& context,
                                const std::vector<Resolved>& proposals, uint32_t committer,
                                std::optional<uint64_t> now_s) {
  std::vector<std::pair<const Proposal*, uint32_t>> list;
  for (const auto& rp : proposals) list.emplace_back(rp.proposal, rp.sender);
  MLS_TRY(ProposalBuckets b, bucket_proposals(list, committer));
  Applied out;
  out.tree = tree;
  out.extensions = b.gce ? b.gce->extensions : context.extensions;
  // RFC 9420 12.4 also requires a path with GroupContextExtensions; ts-mls 1.6 (the web client)
  // commits one without, and the relay follows such groups as their members do. No key is kept
  // longer than without the change: the extensions only say the group's rules.
  out.path_required = proposals.empty() || !b.updates.empty() || !b.removes.empty();
  MLS_CHECK(apply_updates(out, b, tree, context.group_id));
  for (uint32_t leaf : b.removes) {
    MLS_ENSURE(out.tree.leaf(leaf), Errc::kInvalid, "Remove of a blank leaf");
    out.tree.remove_leaf(leaf);
    out.tree.truncate();
    out.removed.push_back(leaf);
  }
  MLS_CHECK(apply_adds(out, b, now_s));
  if (b.gce) MLS_CHECK(check_members_support(out.tree, out.extensions));
  return out;
}

Bytes proposal_ref_of(const AuthenticatedContent& content) {
  return ref_hash("MLS 1.0 Proposal Reference", encode(content));
}

}  // namespace

Status merge_public_update_path(RatchetTree& tree, uint32_t committer, const UpdatePath& path,
                                BytesView group_id, const std::vector<Extension>& extensions) {
  const LeafNode* old = tree.leaf(committer);
  MLS_ENSURE(old, Errc::kInvalid, "UpdatePath from a blank leaf");
  MLS_CHECK(validate_leaf_node(path.leaf_node, LeafNodeSource::kCommit, group_id, committer));
  MLS_CHECK(check_leaf_fits_group(path.leaf_node, committer, tree, extensions));
  MLS_ENSURE(path.leaf_node.encryption_key != old->encryption_key, Errc::kInvalid,
             "committer kept its encryption key");
  std::vector<Bytes> keys;
  std::set<Bytes> seen = {path.leaf_node.encryption_key};
  for (const auto& n : path.nodes) {
    MLS_ENSURE(seen.insert(n.encryption_key).second, Errc::kInvalid, "repeated path key");
    keys.push_back(n.encryption_key);
  }
  // No key of the UpdatePath may already be in the tree (RFC 9420 12.4.2), but the committer's
  // own leaf, which it replaces.
  for (uint32_t i = 0; i < tree.width(); ++i) {
    const Bytes* k = tree.encryption_key(i);
    MLS_ENSURE(!k || i == tree_math::leaf_to_node(committer) || !seen.count(*k), Errc::kInvalid,
               "UpdatePath key already in the tree");
  }
  const auto fdp = tree.filtered_direct_path(committer);
  MLS_ENSURE(fdp.size() == keys.size(), Errc::kInvalid, "UpdatePath has the wrong length");
  Bytes ph = tree.merge_path_keys(committer, fdp, keys);
  MLS_ENSURE(ph == path.leaf_node.parent_hash, Errc::kVerify, "bad parent hash in UpdatePath");
  tree.set_leaf(committer, path.leaf_node);
  return {};
}

Result<PublicGroup> PublicGroup::create(GroupContext context, RatchetTree tree,
                                        std::optional<Bytes> interim_transcript_hash) {
  MLS_ENSURE(context.version == kProtocolVersion && context.cipher_suite == kCipherSuite,
             Errc::kUnsupported, "only mls10 with cipher suite 3");
  MLS_ENSURE(tree.n_leaves() > 0, Errc::kInvalid, "empty ratchet tree");
  MLS_ENSURE(tree.root_hash() == context.tree_hash, Errc::kVerify,
             "the tree hash differs from the GroupContext's");
  MLS_CHECK(tree.validate(context.group_id));
  MLS_CHECK(check_members_support(tree, context.extensions));
  PublicGroup g;
  g.context_ = std::move(context);
  g.tree_ = std::move(tree);
  g.interim_ = std::move(interim_transcript_hash);
  return g;
}

Result<PublicGroup> PublicGroup::from_genesis(BytesView group_context, BytesView ratchet_tree,
                                              BytesView group_id) {
  MLS_TRY(GroupContext context, decode_exact<GroupContext>(group_context));
  MLS_ENSURE(std::equal(context.group_id.begin(), context.group_id.end(), group_id.begin(),
                        group_id.end()),
             Errc::kInvalid, "the GroupContext is for another group");
  MLS_ENSURE(context.epoch == 0, Errc::kInvalid, "a new group starts at epoch 0");
  MLS_ENSURE(context.confirmed_transcript_hash.empty(), Errc::kInvalid,
             "a new group's confirmed transcript hash is empty");
  MLS_TRY(RatchetTree tree, RatchetTree::decode_bytes(ratchet_tree));
  MLS_ENSURE(tree.n_leaves() == 1 && tree.leaf(0), Errc::kInvalid,
             "a new group's tree holds its creator's leaf alone");
  return create(std::move(context), std::move(tree), std::nullopt);
}

Result<AuthenticatedContent> PublicGroup::verify(BytesView mls_message) const {
  MLS_TRY(MlsMessage message, decode_exact<MlsMessage>(mls_message));
  MLS_ENSURE(message.version == kProtocolVersion, Errc::kUnsupported, "not MLS 1.0");
  const auto* pub = std::get_if<PublicMessage>(&message.body);
  MLS_ENSURE(pub, Errc::kInvalid, "not a PublicMessage");
  const FramedContent& c = pub->content;
  MLS_ENSURE(c.group_id == context_.group_id, Errc::kWrongEpoch, "another group");
  MLS_ENSURE(c.epoch == context_.epoch, Errc::kWrongEpoch, "another epoch");
  MLS_ENSURE(c.sender.sender_type == SenderType::kMember, Errc::kUnsupported,
             "only member senders are supported");
  MLS_ENSURE(c.content_type() != ContentType::kApplication, Errc::kInvalid,
             "application data in a PublicMessage");
  const LeafNode* leaf = tree_.leaf(c.sender.index);
  MLS_ENSURE(leaf, Errc::kInvalid, "the sender is not a member");
  // Tags of another size can never match the members' MACs.
  MLS_ENSURE(pub->membership_tag.size() == kHashLen, Errc::kInvalid, "bad membership tag size");
  MLS_ENSURE(
      c.content_type() != ContentType::kCommit || pub->auth.confirmation_tag.size() == kHashLen,
      Errc::kInvalid, "bad confirmation tag size");
  AuthenticatedContent ac{WireFormat::kPublicMessage, c, pub->auth};
  MLS_CHECK(verify_content_signature(ac, leaf->signature_key, context_));
  return ac;
}

Result<PublicGroup> PublicGroup::add_proposal(const AuthenticatedContent& ac) const {
  const auto* p = std::get_if<Proposal>(&ac.content.content);
  MLS_ENSURE(p, Errc::kInvalid, "not a proposal");
  MLS_ENSURE(proposals_.size() < kMaxPublicProposals, Errc::kLimit,
             "too many proposals in this epoch");
  const uint32_t sender = ac.content.sender.index;
  if (auto* u = std::get_if<UpdateProposal>(&p->value)) {
    MLS_CHECK(validate_leaf_node(u->leaf_node, LeafNodeSource::kUpdate, context_.group_id, sender));
    // Checked again when committed, but refused now so no member ever caches it.
    MLS_CHECK(check_leaf_fits_group(u->leaf_node, sender, tree_, context_.extensions));
  } else if (auto* a = std::get_if<AddProposal>(&p->value)) {
    MLS_CHECK(validate_key_package(a->key_package, std::nullopt));
  } else if (auto* r = std::get_if<RemoveProposal>(&p->value)) {
    MLS_ENSURE(tree_.leaf(r->removed), Errc::kInvalid, "Remove of a blank leaf");
  } else if (std::holds_alternative<ExternalInitProposal>(p->value)) {
    return make_error(Errc::kInvalid, "ExternalInit sent as a proposal");
  } else if (std::holds_alternative<ReInitProposal>(p->value)) {
    return make_error(Errc::kUnsupported, "ReInit is not supported");
  }
  const size_t size = encode(*p).size();
  MLS_ENSURE(proposal_bytes_ + size <= kMaxPublicProposalBytes, Errc::kLimit,
             "too many proposal bytes in this epoch");
  PublicGroup next = *this;
  next.proposals_.push_back(Cached{proposal_ref_of(ac), *p, sender});
  next.proposal_bytes_ += size;
  return next;
}

Result<std::vector<PublicGroup::Resolved>> PublicGroup::resolve(const Commit& commit,
                                                                uint32_t committer) const {
  std::vector<Resolved> out;
  for (const auto& por : commit.proposals) {
    if (auto* p = std::get_if<Proposal>(&por.value)) {
      out.push_back(Resolved{p, committer});
      continue;
    }
    const Bytes& ref = std::get<Opaque>(por.value).data;
    auto it = std::find_if(proposals_.rbegin(), proposals_.rend(),
                           [&](const Cached& c) { return c.ref == ref; });
    MLS_ENSURE(it != proposals_.rend(), Errc::kNotFound,
               "the commit refers to a proposal unknown in this epoch");
    out.push_back(Resolved{&it->proposal, it->sender});
  }
  return out;
}

Result<PublicCommit> PublicGroup::apply_commit(const AuthenticatedContent& ac,
                                               std::optional<BytesView> confirmed,
                                               std::optional<uint64_t> now_s) const {
  const auto* commit = std::get_if<Commit>(&ac.content.content);
  MLS_ENSURE(commit, Errc::kInvalid, "not a commit");
  MLS_ENSURE(interim_ || confirmed, Errc::kInvalid,
             "the first commit needs the confirmed transcript hash stated");
  const uint32_t committer = ac.content.sender.index;
  MLS_TRY(auto resolved, resolve(*commit, committer));
  MLS_TRY(Applied applied, apply_proposals(tree_, context_, resolved, committer, now_s));
  MLS_ENSURE(commit->path || !applied.path_required, Errc::kInvalid, "the commit requires a path");
  if (commit->path) {
    MLS_CHECK(merge_public_update_path(applied.tree, committer, *commit->path, context_.group_id,
                                       applied.extensions));
  }
  PublicCommit out;
  out.committer = committer;
  out.added_leaves = std::move(applied.added);
  out.added_key_packages = std::move(applied.added_refs);
  out.removed_leaves = std::move(applied.removed);
  GroupContext& next = out.next.context_;
  next = context_;
  next.epoch = context_.epoch + 1;
  next.tree_hash = applied.tree.root_hash();
  next.extensions = std::move(applied.extensions);
  if (interim_) {
    next.confirmed_transcript_hash = confirmed_transcript_hash(*interim_, ac);
    MLS_ENSURE(!confirmed || std::equal(confirmed->begin(), confirmed->end(),
                                        next.confirmed_transcript_hash.begin(),
                                        next.confirmed_transcript_hash.end()),
               Errc::kVerify, "the stated confirmed transcript hash is not this commit's");
  } else {
    MLS_ENSURE(confirmed->size() == kHashLen, Errc::kInvalid, "bad confirmed transcript hash");
    next.confirmed_transcript_hash.assign(confirmed->begin(), confirmed->end());
  }
  out.next.interim_ = ::cercle::mls::interim_transcript_hash(next.confirmed_transcript_hash,
                                                             ac.auth.confirmation_tag);
  out.next.tree_ = std::move(applied.tree);
  return out;
}

std::vector<PublicMember> PublicGroup::members() const {
  std::vector<PublicMember> out;
  for (uint32_t i = 0; i < tree_.n_leaves(); ++i) {
    if (const LeafNode* leaf = tree_.leaf(i)) out.push_back(PublicMember{i, leaf});
  }
  return out;
}

std::optional<uint32_t> PublicGroup::leaf_of(BytesView signature_key) const {
  for (uint32_t i = 0; i < tree_.n_leaves(); ++i) {
    const LeafNode* leaf = tree_.leaf(i);
    if (leaf && std::equal(leaf->signature_key.begin(), leaf->signature_key.end(),
                           signature_key.begin(), signature_key.end())) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> PublicCommit::added_leaf(BytesView key_package_ref) const {
  for (size_t i = 0; i < added_key_packages.size() && i < added_leaves.size(); ++i) {
    const Bytes& ref = added_key_packages[i];
    if (std::equal(ref.begin(), ref.end(), key_package_ref.begin(), key_package_ref.end())) {
      return added_leaves[i];
    }
  }
  return std::nullopt;
}

namespace {
constexpr uint8_t kStorageVersion = 1;
}

Bytes PublicGroup::serialize() const {
  Writer w;
  w.u8(kStorageVersion);
  context_.encode(w);
  w.opaque(tree_.encode_bytes());
  w.u8(interim_ ? 1 : 0);
  if (interim_) w.opaque(*interim_);
  return w.take();
}

Result<PublicGroup> PublicGroup::deserialize(BytesView data) {
  Reader r(data);
  MLS_ENSURE(r.u8() == kStorageVersion, Errc::kDecode, "unknown public group storage version");
  PublicGroup g;
  g.context_ = GroupContext::decode(r);
  Bytes tree = r.opaque();
  if (r.presence()) g.interim_ = r.opaque();
  MLS_ENSURE(r.ok() && r.at_end(), Errc::kDecode, "malformed public group");
  MLS_TRY(g.tree_, RatchetTree::decode_bytes(tree));
  return g;
}

}  // namespace cercle::mls

#include "cercle/mls/treekem.h"

#include <algorithm>

#include "cercle/mls/tree_math.h"

namespace cercle::mls {

namespace tm = tree_math;

PrivateTree::PrivateTree(uint32_t own_leaf, HpkePrivateKey leaf_key) : own_leaf_(own_leaf) {
  keys_[tm::leaf_to_node(own_leaf)] = std::move(leaf_key);
}

const HpkePrivateKey* PrivateTree::key(uint32_t node) const {
  auto it = keys_.find(node);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<Secret> PrivateTree::implant(const RatchetTree& tree, const std::vector<uint32_t>& fdp,
                                    size_t from, Secret path_secret) {
  for (size_t i = from; i < fdp.size(); ++i) {
    Secret node_secret = derive_secret(path_secret.view(), "node");
    HpkePrivateKey k = HpkePrivateKey::derive(node_secret.view());
    const Bytes* pub = tree.encryption_key(fdp[i]);
    if (!pub || *pub != k.public_key) {
      return make_error(Errc::kVerify, "derived path key does not match the UpdatePath");
    }
    keys_[fdp[i]] = std::move(k);
    path_secret = derive_secret(path_secret.view(), "path");
  }
  return path_secret;
}

void PrivateTree::prune(const RatchetTree& tree) {
  std::erase_if(keys_, [&](const auto& kv) {
    const Bytes* pub = tree.encryption_key(kv.first);
    return !pub || *pub != kv.second.public_key;
  });
}

Status PrivateTree::check_consistent(const RatchetTree& tree) const {
  for (const auto& [node, k] : keys_) {
    const Bytes* pub = tree.encryption_key(node);
    if (!pub || *pub != k.public_key) return make_error(Errc::kInvalid, "private key mismatch");
  }
  return {};
}

void PrivateTree::encode(Writer& w) const {
  w.u32(own_leaf_);
  w.vec([&](Writer& kw) {
    for (const auto& [node, k] : keys_) {
      kw.u32(node);
      kw.opaque(k.key.view());
    }
  });
}

PrivateTree PrivateTree::decode(Reader& r) {
  PrivateTree t;
  t.own_leaf_ = r.u32();
  Reader kr = r.vector();
  while (kr.more()) {
    uint32_t node = kr.u32();
    Secret priv(kr.opaque());
    auto k = HpkePrivateKey::from_private(priv.view());
    if (!k) {
      kr.fail();
      break;
    }
    t.keys_[node] = std::move(*k);
  }
  return t;
}

Result<PreparedPath> prepare_update_path(RatchetTree& tree, uint32_t leaf,
                                         const LeafNode& leaf_template,
                                         const SignaturePrivateKey& signer, BytesView group_id) {
  PreparedPath p;
  p.leaf = leaf;
  p.fdp = tree.filtered_direct_path(leaf);
  std::vector<Bytes> pubs;
  Secret secret(random_bytes(kHashLen));
  for (size_t i = 0; i < p.fdp.size(); ++i) {
    Secret node_secret = derive_secret(secret.view(), "node");
    pubs.push_back(HpkePrivateKey::derive(node_secret.view()).public_key);
    Secret next = derive_secret(secret.view(), "path");
    p.path_secrets.push_back(std::move(secret));
    secret = std::move(next);
  }
  p.commit_secret = std::move(secret);
  p.leaf_key = HpkePrivateKey::generate();
  p.leaf_node = leaf_template;
  p.leaf_node.encryption_key = p.leaf_key.public_key;
  p.leaf_node.source = LeafNodeSource::kCommit;
  p.leaf_node.lifetime = {};
  p.leaf_node.parent_hash = tree.merge_path_keys(leaf, p.fdp, pubs);
  p.leaf_node.signature_key = signer.public_key;
  p.leaf_node.signature =
      sign_with_label(signer, "LeafNodeTBS", p.leaf_node.to_be_signed(group_id, leaf));
  tree.set_leaf(leaf, p.leaf_node);
  return p;
}

Result<UpdatePath> encrypt_update_path(const RatchetTree& tree, const PreparedPath& p,
                                       BytesView group_context,
                                       const std::set<uint32_t>& new_leaves) {
  UpdatePath path;
  path.leaf_node = p.leaf_node;
  uint32_t x = tm::leaf_to_node(p.leaf);
  for (size_t i = 0; i < p.fdp.size(); ++i) {
    UpdatePathNode node;
    node.encryption_key = *tree.encryption_key(p.fdp[i]);
    for (uint32_t r : tree.resolution(RatchetTree::copath_child(p.fdp[i], x), &new_leaves)) {
      const Bytes* key = tree.encryption_key(r);
      MLS_ENSURE(key, Errc::kInvalid, "blank node in a resolution");
      MLS_TRY(auto ct,
              encrypt_with_label(*key, "UpdatePathNode", group_context, p.path_secrets[i].view()));
      node.encrypted_path_secret.push_back(std::move(ct));
    }
    path.nodes.push_back(std::move(node));
  }
  return path;
}

Status adopt_prepared_path(PrivateTree& priv, const RatchetTree& tree, const PreparedPath& p) {
  priv.set_key(tm::leaf_to_node(p.leaf), p.leaf_key);
  if (!p.fdp.empty()) {
    MLS_TRY(Secret ignored, priv.implant(tree, p.fdp, 0, p.path_secrets[0]));
  }
  priv.prune(tree);
  return {};
}

Result<Secret> decrypt_update_path(const RatchetTree& tree, PrivateTree& priv, uint32_t sender,
                                   const std::vector<uint32_t>& fdp, const UpdatePath& path,
                                   BytesView group_context, const std::set<uint32_t>& new_leaves,
                                   Secret* decrypted_path_secret) {
  if (path.nodes.size() != fdp.size()) {
    return make_error(Errc::kInvalid, "UpdatePath length differs from filtered direct path");
  }
  uint32_t x = tm::leaf_to_node(sender);
  uint32_t me = tm::leaf_to_node(priv.own_leaf());
  for (size_t i = 0; i < fdp.size(); ++i) {
    uint32_t child = RatchetTree::copath_child(fdp[i], x);
    if (!tm::in_subtree(child, me)) continue;
    auto res = tree.resolution(child, &new_leaves);
    if (res.size() != path.nodes[i].encrypted_path_secret.size()) {
      return make_error(Errc::kInvalid, "wrong number of encrypted path secrets");
    }
    for (size_t j = 0; j < res.size(); ++j) {
      const HpkePrivateKey* k = priv.key(res[j]);
      if (!k) continue;
      const auto& ct = path.nodes[i].encrypted_path_secret[j];
      MLS_TRY(Bytes secret, decrypt_with_label(*k, "UpdatePathNode", group_context, ct.kem_output,
                                               ct.ciphertext));
      Secret path_secret(std::move(secret));
      if (decrypted_path_secret) *decrypted_path_secret = path_secret;
      return priv.implant(tree, fdp, i, std::move(path_secret));
    }
    return make_error(Errc::kNotFound, "no private key for the copath resolution");
  }
  return make_error(Errc::kInvalid, "receiver not below the sender's filtered direct path");
}

std::optional<Secret> path_secret_for(const PreparedPath& p, uint32_t joiner_leaf) {
  uint32_t ancestor = tm::common_ancestor(tm::leaf_to_node(p.leaf), tm::leaf_to_node(joiner_leaf));
  auto it = std::find(p.fdp.begin(), p.fdp.end(), ancestor);
  if (it == p.fdp.end()) return std::nullopt;
  return p.path_secrets[static_cast<size_t>(it - p.fdp.begin())];
}

}  // namespace cercle::mls

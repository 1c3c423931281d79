#include "cercle/mls/tree.h"

#include <algorithm>

#include "cercle/mls/crypto.h"
#include "cercle/mls/tree_math.h"

namespace cercle::mls {

namespace tm = tree_math;

RatchetTree::RatchetTree(LeafNode leaf) : n_leaves_(1) { nodes_.push_back(Node{std::move(leaf)}); }

Result<RatchetTree> RatchetTree::from_data(const RatchetTreeData& data) {
  if (data.nodes.empty() || !data.nodes.back()) {
    return make_error(Errc::kInvalid, "empty ratchet tree or trailing blank node");
  }
  if (data.nodes.size() > (1u << 30)) return make_error(Errc::kLimit, "ratchet tree too large");
  RatchetTree t;
  t.n_leaves_ = 1;
  while (tm::node_width(t.n_leaves_) < data.nodes.size()) t.n_leaves_ *= 2;
  t.nodes_ = data.nodes;
  t.nodes_.resize(tm::node_width(t.n_leaves_));
  for (uint32_t i = 0; i < t.nodes_.size(); ++i) {
    if (!t.nodes_[i]) continue;
    bool is_leaf_node = std::holds_alternative<LeafNode>(t.nodes_[i]->value);
    if (is_leaf_node != tm::is_leaf(i)) return make_error(Errc::kInvalid, "node kind mismatch");
  }
  // Every unmerged leaf must be a non-blank leaf below its parent: code that walks resolutions
  // relies on it, so no RatchetTree value ever breaks it.
  for (uint32_t p = 1; p < t.nodes_.size(); p += 2) {
    const ParentNode* node = t.parent(p);
    if (!node) continue;
    for (const auto& u : node->unmerged_leaves) {
      if (u.value >= t.n_leaves_ || !tm::in_subtree(p, tm::leaf_to_node(u.value)) ||
          t.blank(tm::leaf_to_node(u.value))) {
        return make_error(Errc::kInvalid, "bad unmerged leaf");
      }
    }
  }
  return t;
}

Result<RatchetTree> RatchetTree::decode_bytes(BytesView data) {
  MLS_TRY(auto d, decode_exact<RatchetTreeData>(data));
  return from_data(d);
}

RatchetTreeData RatchetTree::to_data() const {
  RatchetTreeData d{nodes_};
  while (!d.nodes.empty() && !d.nodes.back()) d.nodes.pop_back();
  return d;
}

Bytes RatchetTree::encode_bytes() const { return encode(to_data()); }

const LeafNode* RatchetTree::leaf(uint32_t leaf_index) const {
  uint32_t n = tm::leaf_to_node(leaf_index);
  if (leaf_index >= n_leaves_ || !nodes_[n]) return nullptr;
  return std::get_if<LeafNode>(&nodes_[n]->value);
}

const ParentNode* RatchetTree::parent(uint32_t node) const {
  if (node >= nodes_.size() || !nodes_[node]) return nullptr;
  return std::get_if<ParentNode>(&nodes_[node]->value);
}

const Bytes* RatchetTree::encryption_key(uint32_t node) const {
  if (blank(node)) return nullptr;
  if (tm::is_leaf(node)) return &leaf(tm::node_to_leaf(node))->encryption_key;
  return &parent(node)->encryption_key;
}

std::vector<uint32_t> RatchetTree::resolution(uint32_t node,
                                              const std::set<uint32_t>* exclude) const {
  if (tm::is_leaf(node)) {
    if (blank(node) || (exclude && exclude->count(tm::node_to_leaf(node)))) return {};
    return {node};
  }
  if (blank(node)) {
    auto out = resolution(*tm::left(node), exclude);
    auto r = resolution(*tm::right(node), exclude);
    out.insert(out.end(), r.begin(), r.end());
    return out;
  }
  std::vector<uint32_t> out = {node};
  for (const auto& u : parent(node)->unmerged_leaves) {
    if (!exclude || !exclude->count(u.value)) out.push_back(tm::leaf_to_node(u.value));
  }
  return out;
}

uint32_t RatchetTree::copath_child(uint32_t ancestor, uint32_t node) {
  uint32_t l = *tm::left(ancestor), r = *tm::right(ancestor);
  return tm::in_subtree(l, node) ? r : l;
}

std::vector<uint32_t> RatchetTree::filtered_direct_path(uint32_t leaf_index) const {
  uint32_t x = tm::leaf_to_node(leaf_index);
  std::vector<uint32_t> out;
  for (uint32_t p : tm::direct_path(x, n_leaves_)) {
    if (!resolution(copath_child(p, x)).empty()) out.push_back(p);
  }
  return out;
}

Bytes RatchetTree::hash_node(uint32_t node, const std::set<uint32_t>* exclude,
                             std::vector<Bytes>* cache) const {
  Writer w;
  if (tm::is_leaf(node)) {
    uint32_t li = tm::node_to_leaf(node);
    w.u8(1);
    w.u32(li);
    const LeafNode* l = leaf(li);
    bool present = l && !(exclude && exclude->count(li));
    w.u8(present ? 1 : 0);
    if (present) l->encode(w);
  } else {
    w.u8(2);
    const ParentNode* p = parent(node);
    w.u8(p ? 1 : 0);
    if (p) {
      ParentNode copy = *p;
      if (exclude) {
        std::erase_if(copy.unmerged_leaves,
                      [&](const Uint32& u) { return exclude->count(u.value); });
      }
      copy.encode(w);
    }
    w.opaque(hash_node(*tm::left(node), exclude, cache));
    w.opaque(hash_node(*tm::right(node), exclude, cache));
  }
  Bytes h = sha256(w.bytes());
  if (cache) (*cache)[node] = h;
  return h;
}

Bytes RatchetTree::root_hash() const {
  if (n_leaves_ == 0) return {};
  return hash_node(tm::root(n_leaves_), nullptr, nullptr);
}

std::vector<Bytes> RatchetTree::all_tree_hashes() const {
  std::vector<Bytes> cache(nodes_.size());
  if (n_leaves_ > 0) hash_node(tm::root(n_leaves_), nullptr, &cache);
  return cache;
}

Bytes RatchetTree::parent_hash_of(uint32_t p, uint32_t sibling) const {
  const ParentNode* node = parent(p);
  std::set<uint32_t> exclude;
  for (const auto& u : node->unmerged_leaves) exclude.insert(u.value);
  Writer w;
  w.opaque(node->encryption_key);
  w.opaque(node->parent_hash);
  w.opaque(hash_node(sibling, exclude.empty() ? nullptr : &exclude, nullptr));
  return sha256(w.bytes());
}

bool RatchetTree::has_parent_hash_child(uint32_t p, uint32_t child, uint32_t sibling) const {
  Bytes ph = parent_hash_of(p, sibling);
  std::set<uint32_t> unmerged_in_child;
  for (const auto& u : parent(p)->unmerged_leaves) {
    if (tm::in_subtree(child, tm::leaf_to_node(u.value))) unmerged_in_child.insert(u.value);
  }
  auto res = resolution(child);
  int matches = 0;
  for (uint32_t d : res) {
    const Bytes* d_ph = nullptr;
    if (tm::is_leaf(d)) {
      const LeafNode* l = leaf(tm::node_to_leaf(d));
      if (l->source == LeafNodeSource::kCommit) d_ph = &l->parent_hash;
    } else {
      d_ph = &parent(d)->parent_hash;
    }
    if (!d_ph || *d_ph != ph) continue;
    std::set<uint32_t> rest;
    for (uint32_t x : res) {
      if (x != d) {
        if (!tm::is_leaf(x))
          rest.insert(UINT32_MAX);  // a parent can never be unmerged
        else
          rest.insert(tm::node_to_leaf(x));
      }
    }
    if (rest == unmerged_in_child) ++matches;
  }
  return matches == 1;
}

Status RatchetTree::verify_parent_hashes() const {
  for (uint32_t p = 1; p < nodes_.size(); p += 2) {
    if (blank(p)) continue;
    uint32_t l = *tm::left(p), r = *tm::right(p);
    int valid = (has_parent_hash_child(p, l, r) ? 1 : 0) + (has_parent_hash_child(p, r, l) ? 1 : 0);
    if (valid != 1)
      return make_error(Errc::kVerify, "parent hash invalid at node " + std::to_string(p));
  }
  return {};
}

Status RatchetTree::validate(BytesView group_id) const {
  std::set<Bytes> enc_keys, sig_keys;
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    if (blank(i)) continue;
    if (!enc_keys.insert(*encryption_key(i)).second) {
      return make_error(Errc::kInvalid, "duplicate encryption key in tree");
    }
    if (tm::is_leaf(i)) {
      const LeafNode* l = leaf(tm::node_to_leaf(i));
      if (!sig_keys.insert(l->signature_key).second) {
        return make_error(Errc::kInvalid, "duplicate signature key in tree");
      }
      if (!verify_with_label(l->signature_key, "LeafNodeTBS",
                             l->to_be_signed(group_id, tm::node_to_leaf(i)), l->signature)) {
        return make_error(Errc::kVerify, "bad leaf signature at leaf " + std::to_string(i / 2));
      }
      continue;
    }
    for (const auto& u : parent(i)->unmerged_leaves) {
      uint32_t ln = tm::leaf_to_node(u.value);
      if (u.value >= n_leaves_ || !tm::in_subtree(i, ln) || blank(ln)) {
        return make_error(Errc::kInvalid, "bad unmerged leaf");
      }
      for (uint32_t a : tm::direct_path(ln, n_leaves_)) {
        if (a == i) break;
        const ParentNode* mid = parent(a);
        if (mid && std::find(mid->unmerged_leaves.begin(), mid->unmerged_leaves.end(), u) ==
                       mid->unmerged_leaves.end()) {
          return make_error(Errc::kInvalid, "unmerged leaf missing below its parent");
        }
      }
    }
  }
  return verify_parent_hashes();
}

void RatchetTree::extend() {
  n_leaves_ = n_leaves_ == 0 ? 1 : n_leaves_ * 2;
  nodes_.resize(tm::node_width(n_leaves_));
}

uint32_t RatchetTree::add_leaf(LeafNode leaf) {
  uint32_t index = 0;
  while (index < n_leaves_ && !blank(tm::leaf_to_node(index))) ++index;
  if (index == n_leaves_) extend();
  uint32_t node = tm::leaf_to_node(index);
  nodes_[node] = Node{std::move(leaf)};
  for (uint32_t p : tm::direct_path(node, n_leaves_)) {
    if (!blank(p)) std::get<ParentNode>(nodes_[p]->value).unmerged_leaves.push_back(Uint32{index});
  }
  return index;
}

void RatchetTree::set_leaf(uint32_t leaf_index, LeafNode leaf) {
  nodes_[tm::leaf_to_node(leaf_index)] = Node{std::move(leaf)};
}

void RatchetTree::blank_direct_path(uint32_t leaf_index) {
  for (uint32_t p : tm::direct_path(tm::leaf_to_node(leaf_index), n_leaves_)) nodes_[p].reset();
}

void RatchetTree::update_leaf(uint32_t leaf_index, LeafNode leaf) {
  set_leaf(leaf_index, std::move(leaf));
  blank_direct_path(leaf_index);
}

void RatchetTree::remove_leaf(uint32_t leaf_index) {
  nodes_[tm::leaf_to_node(leaf_index)].reset();
  blank_direct_path(leaf_index);
}

void RatchetTree::truncate() {
  while (n_leaves_ > 1) {
    bool right_blank = true;
    for (uint32_t i = tm::node_width(n_leaves_ / 2) + 1; i < nodes_.size(); ++i) {
      if (nodes_[i]) right_blank = false;
    }
    if (!right_blank) break;
    n_leaves_ /= 2;
    nodes_.resize(tm::node_width(n_leaves_));
  }
}

Bytes RatchetTree::merge_path_keys(uint32_t leaf_index, const std::vector<uint32_t>& fdp,
                                   const std::vector<Bytes>& keys) {
  uint32_t x = tm::leaf_to_node(leaf_index);
  blank_direct_path(leaf_index);
  for (size_t i = 0; i < fdp.size(); ++i) nodes_[fdp[i]] = Node{ParentNode{keys[i], {}, {}}};
  Bytes ph;  // the root's parent_hash is empty
  for (size_t i = fdp.size(); i-- > 0;) {
    std::get<ParentNode>(nodes_[fdp[i]]->value).parent_hash = ph;
    ph = parent_hash_of(fdp[i], copath_child(fdp[i], x));
  }
  return ph;
}

std::vector<uint32_t> RatchetTree::occupied_leaves() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < n_leaves_; ++i) {
    if (!blank(tm::leaf_to_node(i))) out.push_back(i);
  }
  return out;
}

}  // namespace cercle::mls

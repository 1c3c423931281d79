// The public ratchet tree of RFC 9420 sections 4 and 7: array representation, resolution,
// filtered direct paths, tree hashes, parent hashes and their verification, structural
// validation, and the tree edits of Add / Update / Remove and UpdatePath merging.
// Thread-safety: a value type; const methods are safe to call concurrently.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "cercle/mls/messages.h"
#include "cercle/mls/result.h"

namespace cercle::mls {

class RatchetTree {
 public:
  RatchetTree() = default;
  // A one-member tree.
  explicit RatchetTree(LeafNode leaf);
  // Builds a tree from the ratchet_tree encoding: kInvalid on a node of the wrong kind at an
  // index, an empty tree or a trailing blank node.
  static Result<RatchetTree> from_data(const RatchetTreeData& data);
  static Result<RatchetTree> decode_bytes(BytesView data);
  // The canonical encoding (trailing blank nodes removed).
  RatchetTreeData to_data() const;
  Bytes encode_bytes() const;

  uint32_t n_leaves() const { return n_leaves_; }
  uint32_t width() const { return static_cast<uint32_t>(nodes_.size()); }
  bool blank(uint32_t node) const { return node >= nodes_.size() || !nodes_[node].has_value(); }
  const LeafNode* leaf(uint32_t leaf_index) const;
  const ParentNode* parent(uint32_t node) const;
  // The encryption key of a non-blank node, or nullptr.
  const Bytes* encryption_key(uint32_t node) const;

  std::vector<uint32_t> resolution(uint32_t node,
                                   const std::set<uint32_t>* exclude_leaves = nullptr) const;
  std::vector<uint32_t> filtered_direct_path(uint32_t leaf_index) const;
  // The child of `ancestor` that is not on the path from `node` (the copath child).
  static uint32_t copath_child(uint32_t ancestor, uint32_t node);

  Bytes root_hash() const;
  std::vector<Bytes> all_tree_hashes() const;
  // Parent hash of parent node `p` with copath child `sibling`, using the original sibling tree
  // hash (p's unmerged leaves removed from the sibling subtree).
  Bytes parent_hash_of(uint32_t p, uint32_t sibling) const;
  // Every non-blank parent must be parent-hash valid w.r.t. exactly one descendant.
  Status verify_parent_hashes() const;
  // Structure, unmerged-leaf consistency, leaf signatures and key uniqueness (RFC 9420
  // 12.4.3.1); leaf capability checks are done by the group state.
  Status validate(BytesView group_id) const;

  // Edits. add_leaf returns the new leaf index.
  uint32_t add_leaf(LeafNode leaf);
  void update_leaf(uint32_t leaf_index, LeafNode leaf);
  void remove_leaf(uint32_t leaf_index);
  void set_leaf(uint32_t leaf_index, LeafNode leaf);
  void blank_direct_path(uint32_t leaf_index);
  void truncate();
  // Merges public keys of an UpdatePath for `leaf_index` (whose filtered direct path `fdp`
  // was computed before the merge): blanks the direct path, installs keys, sets parent
  // hashes top-down. Returns the parent hash the leaf must carry.
  Bytes merge_path_keys(uint32_t leaf_index, const std::vector<uint32_t>& fdp,
                        const std::vector<Bytes>& keys);
  // Leaf indices of non-blank leaves.
  std::vector<uint32_t> occupied_leaves() const;
  bool operator==(const RatchetTree&) const = default;

 private:
  Bytes hash_node(uint32_t node, const std::set<uint32_t>* exclude,
                  std::vector<Bytes>* cache) const;
  bool has_parent_hash_child(uint32_t p, uint32_t child, uint32_t sibling) const;
  void extend();

  uint32_t n_leaves_ = 0;
  std::vector<std::optional<Node>> nodes_;
};

}  // namespace cercle::mls

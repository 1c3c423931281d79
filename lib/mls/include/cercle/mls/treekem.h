// TreeKEM (RFC 9420 7.4-7.6): the private view of the ratchet tree (HPKE private keys for a
// member's leaf and direct path), creating an UpdatePath as committer, and decrypting one as
// receiver.
// Thread-safety: PrivateTree is a value type.
#pragma once

#include <functional>
#include <map>
#include <set>

#include "cercle/mls/crypto.h"
#include "cercle/mls/hpke.h"
#include "cercle/mls/tree.h"

namespace cercle::mls {

class PrivateTree {
 public:
  PrivateTree() = default;
  PrivateTree(uint32_t own_leaf, HpkePrivateKey leaf_key);

  uint32_t own_leaf() const { return own_leaf_; }
  void set_own_leaf(uint32_t leaf) { own_leaf_ = leaf; }
  const HpkePrivateKey* key(uint32_t node) const;
  void set_key(uint32_t node, HpkePrivateKey key) { keys_[node] = std::move(key); }
  // Installs the keys derived from `path_secret` at `node` and upwards along `fdp` (which must
  // contain node); kVerify if a derived public key differs from the tree. Returns the secret
  // one step past the root (the commit secret).
  Result<Secret> implant(const RatchetTree& tree, const std::vector<uint32_t>& fdp, size_t from,
                         Secret path_secret);
  // Drops keys whose node is blank or holds another public key.
  void prune(const RatchetTree& tree);
  // kInvalid unless every held key matches the public tree.
  Status check_consistent(const RatchetTree& tree) const;

  void encode(Writer& w) const;
  static PrivateTree decode(Reader& r);

 private:
  uint32_t own_leaf_ = 0;
  std::map<uint32_t, HpkePrivateKey> keys_;
};

// An UpdatePath being built: the tree has been changed by prepare_update_path; the caller
// computes the provisional GroupContext from it, then calls encrypt_update_path.
struct PreparedPath {
  uint32_t leaf = 0;
  std::vector<uint32_t> fdp;
  std::vector<Secret> path_secrets;  // one per fdp node
  Secret commit_secret;
  LeafNode leaf_node;
  HpkePrivateKey leaf_key;
};

// Generates fresh path secrets for `leaf`, merges the new public keys into `tree`, and installs
// a newly signed commit-source leaf built from `leaf_template` (credential, capabilities,
// extensions, signature key).
Result<PreparedPath> prepare_update_path(RatchetTree& tree, uint32_t leaf,
                                         const LeafNode& leaf_template,
                                         const SignaturePrivateKey& signer, BytesView group_id);
// Encrypts the path secrets under the provisional GroupContext, excluding `new_leaves`.
Result<UpdatePath> encrypt_update_path(const RatchetTree& tree, const PreparedPath& prepared,
                                       BytesView group_context,
                                       const std::set<uint32_t>& new_leaves);
// Installs the committer's own new keys in its private tree.
Status adopt_prepared_path(PrivateTree& priv, const RatchetTree& tree, const PreparedPath& p);

// Receiver side: `tree` is the tree with proposals applied and `path` merged (see
// RatchetTree::merge_path_keys); `fdp` the sender's filtered direct path. Returns the
// commit secret and installs the new keys in `priv`.
Result<Secret> decrypt_update_path(const RatchetTree& tree, PrivateTree& priv, uint32_t sender,
                                   const std::vector<uint32_t>& fdp, const UpdatePath& path,
                                   BytesView group_context, const std::set<uint32_t>& new_leaves,
                                   Secret* decrypted_path_secret = nullptr);

// Path secret the committer shares with a new member at `joiner_leaf` (for GroupSecrets), or
// nullopt if their common ancestor is not on the committer's filtered direct path.
std::optional<Secret> path_secret_for(const PreparedPath& p, uint32_t joiner_leaf);

}  // namespace cercle::mls

// Vector checks for tree-validation, tree-operations, treekem and messages.
#include "cercle/mls/crypto.h"
#include "lib/mls/test/vectors.h"
#include "cercle/mls/tree.h"
#include "cercle/mls/tree_math.h"
#include "cercle/mls/treekem.h"

namespace cercle::mls::vectors {

std::string tree_validation(const json::object& v) {
  auto tree = RatchetTree::decode_bytes(hex(v, "tree"));
  VEC_EXPECT(tree.ok(), "decode tree");
  const auto& res = v.at("resolutions").as_array();
  const auto& hashes = v.at("tree_hashes").as_array();
  VEC_EXPECT(res.size() == tree->width() && hashes.size() == tree->width(), "width");
  auto all = tree->all_tree_hashes();
  for (uint32_t i = 0; i < tree->width(); ++i) {
    std::vector<uint32_t> expected;
    for (const auto& x : res[i].as_array()) expected.push_back(x.to_number<uint32_t>());
    VEC_EXPECT(tree->resolution(i) == expected, "resolution " + std::to_string(i));
    VEC_EXPECT(all[i] == hex_value(hashes[i]), "tree hash " + std::to_string(i));
  }
  auto st = tree->validate(hex(v, "group_id"));
  VEC_EXPECT(st.ok(), "validate: " + (st.ok() ? std::string() : st.error().message));
  return {};
}

std::string tree_operations(const json::object& v) {
  auto tree = RatchetTree::decode_bytes(hex(v, "tree_before"));
  VEC_EXPECT(tree.ok(), "decode tree");
  VEC_EXPECT(tree->root_hash() == hex(v, "tree_hash_before"), "hash before");
  auto proposal = decode_exact<Proposal>(hex(v, "proposal"));
  VEC_EXPECT(proposal.ok(), "decode proposal");
  uint32_t sender = static_cast<uint32_t>(num(v, "proposal_sender"));
  if (auto* add = std::get_if<AddProposal>(&proposal->value)) {
    tree->add_leaf(add->key_package.leaf_node);
  } else if (auto* upd = std::get_if<UpdateProposal>(&proposal->value)) {
    tree->update_leaf(sender, upd->leaf_node);
  } else if (auto* rem = std::get_if<RemoveProposal>(&proposal->value)) {
    tree->remove_leaf(rem->removed);
    tree->truncate();
  } else {
    return "unexpected proposal type";
  }
  VEC_EXPECT(tree->encode_bytes() == hex(v, "tree_after"), "tree after");
  VEC_EXPECT(tree->root_hash() == hex(v, "tree_hash_after"), "hash after");
  return {};
}

namespace {

struct TreeKemEnv {
  GroupContext gc;
  RatchetTree tree;
  std::map<uint32_t, PrivateTree> privs;
  std::map<uint32_t, SignaturePrivateKey> signers;
};

std::string load_privates(const json::object& v, TreeKemEnv& env) {
  for (const auto& lv : v.at("leaves_private").as_array()) {
    const auto& l = lv.as_object();
    uint32_t index = static_cast<uint32_t>(num(l, "index"));
    auto enc = HpkePrivateKey::from_private(hex(l, "encryption_priv"));
    auto sig = SignaturePrivateKey::from_seed(hex(l, "signature_priv"));
    VEC_EXPECT(enc.ok() && sig.ok(), "private keys");
    PrivateTree priv(index, *enc);
    for (const auto& pv : l.at("path_secrets").as_array()) {
      const auto& p = pv.as_object();
      Secret ps(hex(p, "path_secret"));
      priv.set_key(static_cast<uint32_t>(num(p, "node")),
                   HpkePrivateKey::derive(derive_secret(ps.view(), "node").view()));
    }
    VEC_EXPECT(priv.check_consistent(env.tree).ok(), "private state inconsistent");
    env.privs[index] = std::move(priv);
    env.signers.emplace(index, std::move(*sig));
  }
  return {};
}

Bytes context_for(const TreeKemEnv& env, const RatchetTree& tree) {
  GroupContext gc = env.gc;
  gc.tree_hash = tree.root_hash();
  return encode(gc);
}

std::string check_path(const TreeKemEnv& env, const json::object& u) {
  uint32_t sender = static_cast<uint32_t>(num(u, "sender"));
  auto path = decode_exact<UpdatePath>(hex(u, "update_path"));
  VEC_EXPECT(path.ok(), "decode UpdatePath");
  RatchetTree after = env.tree;
  auto fdp = after.filtered_direct_path(sender);
  VEC_EXPECT(fdp.size() == path->nodes.size(), "path length");
  std::vector<Bytes> keys;
  for (const auto& n : path->nodes) keys.push_back(n.encryption_key);
  Bytes ph = after.merge_path_keys(sender, fdp, keys);
  VEC_EXPECT(ph == path->leaf_node.parent_hash, "leaf parent hash");
  VEC_EXPECT(verify_with_label(path->leaf_node.signature_key, "LeafNodeTBS",
                               path->leaf_node.to_be_signed(env.gc.group_id, sender),
                               path->leaf_node.signature),
             "leaf signature");
  after.set_leaf(sender, path->leaf_node);
  VEC_EXPECT(after.root_hash() == hex(u, "tree_hash_after"), "tree hash after");
  Bytes ctx = context_for(env, after);
  const auto& secrets = u.at("path_secrets").as_array();
  for (const auto& [j, priv] : env.privs) {
    if (j == sender) continue;
    PrivateTree copy = priv;
    Secret decrypted;
    auto cs = decrypt_update_path(after, copy, sender, fdp, *path, ctx, {}, &decrypted);
    VEC_EXPECT(cs.ok(), "decrypt path for " + std::to_string(j) + ": " +
                            (cs.ok() ? std::string() : cs.error().message));
    VEC_EXPECT(decrypted.copy_bytes() == hex_value(secrets[j]), "path secret");
    VEC_EXPECT(cs->copy_bytes() == hex(u, "commit_secret"), "commit secret");
  }
  return {};
}

std::string check_new_path(const TreeKemEnv& env, uint32_t sender) {
  RatchetTree tree = env.tree;
  auto prepared = prepare_update_path(tree, sender, *env.tree.leaf(sender), env.signers.at(sender),
                                      env.gc.group_id);
  VEC_EXPECT(prepared.ok(), "prepare path");
  Bytes ctx = context_for(env, tree);
  auto path = encrypt_update_path(tree, *prepared, ctx, {});
  VEC_EXPECT(path.ok(), "encrypt path");
  for (const auto& [j, priv] : env.privs) {
    if (j == sender) continue;
    RatchetTree after = env.tree;
    auto fdp = after.filtered_direct_path(sender);
    std::vector<Bytes> keys;
    for (const auto& n : path->nodes) keys.push_back(n.encryption_key);
    VEC_EXPECT(after.merge_path_keys(sender, fdp, keys) == path->leaf_node.parent_hash,
               "own parent hash");
    after.set_leaf(sender, path->leaf_node);
    VEC_EXPECT(after == tree, "merged trees differ");
    PrivateTree copy = priv;
    auto cs = decrypt_update_path(after, copy, sender, fdp, *path, ctx, {});
    VEC_EXPECT(cs.ok() && *cs == prepared->commit_secret, "own path commit secret");
  }
  return {};
}

}  // namespace

std::string treekem(const json::object& v) {
  TreeKemEnv env;
  env.gc.cipher_suite = static_cast<uint16_t>(num(v, "cipher_suite"));
  env.gc.group_id = hex(v, "group_id");
  env.gc.epoch = num(v, "epoch");
  env.gc.confirmed_transcript_hash = hex(v, "confirmed_transcript_hash");
  auto tree = RatchetTree::decode_bytes(hex(v, "ratchet_tree"));
  VEC_EXPECT(tree.ok(), "decode tree");
  env.tree = std::move(*tree);
  if (auto why = load_privates(v, env); !why.empty()) return why;
  for (const auto& uv : v.at("update_paths").as_array()) {
    const auto& u = uv.as_object();
    if (auto why = check_path(env, u); !why.empty()) return why;
    if (auto why = check_new_path(env, static_cast<uint32_t>(num(u, "sender"))); !why.empty()) {
      return why;
    }
  }
  return {};
}

template <typename T>
static bool round_trips(const Bytes& data) {
  auto d = decode_exact<T>(data);
  return d.ok() && encode(*d) == data;
}

std::string messages(const json::object& v) {
  struct Field {
    const char* name;
    bool (*check)(const Bytes&);
  };
  const Field fields[] = {
      {"mls_welcome", round_trips<MlsMessage>},
      {"mls_group_info", round_trips<MlsMessage>},
      {"mls_key_package", round_trips<MlsMessage>},
      {"ratchet_tree", round_trips<RatchetTreeData>},
      {"group_secrets", round_trips<GroupSecrets>},
      {"add_proposal", round_trips<AddProposal>},
      {"update_proposal", round_trips<UpdateProposal>},
      {"remove_proposal", round_trips<RemoveProposal>},
      {"pre_shared_key_proposal", round_trips<PskProposal>},
      {"re_init_proposal", round_trips<ReInitProposal>},
      {"external_init_proposal", round_trips<ExternalInitProposal>},
      {"group_context_extensions_proposal", round_trips<GroupContextExtensionsProposal>},
      {"commit", round_trips<Commit>},
      {"public_message_application", round_trips<MlsMessage>},
      {"public_message_proposal", round_trips<MlsMessage>},
      {"public_message_commit", round_trips<MlsMessage>},
      {"private_message", round_trips<MlsMessage>},
  };
  for (const auto& f : fields) VEC_EXPECT(f.check(hex(v, f.name)), f.name);
  return {};
}

}  // namespace cercle::mls::vectors

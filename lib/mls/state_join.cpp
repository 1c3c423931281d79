// State: joining from a Welcome (RFC 9420 12.4.3.1).
#include <algorithm>

#include "cercle/mls/state.h"
#include "state_internal.h"
#include "cercle/mls/tree_math.h"

namespace cercle::mls {
namespace {

Result<GroupSecrets> open_group_secrets(const Welcome& w, const KeyPackageBundle& kp,
                                        const Bytes& ref) {
  for (const auto& egs : w.secrets) {
    if (egs.new_member != ref) continue;
    MLS_TRY(Bytes plain, decrypt_with_label(kp.init_key, "Welcome", w.encrypted_group_info,
                                            egs.encrypted_group_secrets.kem_output,
                                            egs.encrypted_group_secrets.ciphertext));
    Secret wiped(std::move(plain));
    return decode_exact<GroupSecrets>(wiped.view());
  }
  return make_error(Errc::kNotFound, "Welcome has no secrets for this KeyPackage");
}

Result<RatchetTree> tree_for(const GroupInfo& info, std::optional<BytesView> given) {
  const Extension* ext = find_extension(info.extensions, kExtRatchetTree);
  if (given) return RatchetTree::decode_bytes(*given);
  MLS_ENSURE(ext, Errc::kNotFound, "no ratchet tree in the Welcome and none given");
  return RatchetTree::decode_bytes(ext->extension_data);
}

Status validate_joined_tree(const RatchetTree& tree, const GroupContext& gc) {
  MLS_ENSURE(tree.root_hash() == gc.tree_hash, Errc::kVerify, "tree hash mismatch");
  MLS_CHECK(tree.validate(gc.group_id));
  MLS_CHECK(check_members_support(tree, gc.extensions));
  // Lifetimes of leaves already in the tree are not checked: RFC 9420 7.3 leaves it optional
  // for received trees and a leaf legitimately outlives its KeyPackage lifetime.
  for (uint32_t l : tree.occupied_leaves()) {
    const LeafNode* leaf = tree.leaf(l);
    MLS_CHECK(validate_leaf_node(*leaf, leaf->source, gc.group_id, l));

    MLS_CHECK(check_leaf_fits_group(*leaf, l, tree, gc.extensions));
  }
  return {};
}

}  // namespace

Result<State> State::join(BytesView welcome, const KeyPackageBundle& key_package,
                          std::optional<BytesView> ratchet_tree,
                          const std::vector<std::pair<Bytes, Bytes>>& external_psks) {
  MLS_TRY(MlsMessage msg, decode_exact<MlsMessage>(welcome));
  const Welcome* w = std::get_if<Welcome>(&msg.body);
  MLS_ENSURE(w && msg.version == kProtocolVersion, Errc::kInvalid, "not an MLS 1.0 Welcome");
  MLS_ENSURE(w->cipher_suite == kCipherSuite, Errc::kUnsupported, "unsupported cipher suite");
  MLS_TRY(KeyPackage kp, key_package.decoded());
  MLS_TRY(GroupSecrets secrets, open_group_secrets(*w, key_package, key_package_ref(kp)));
  State lookup;
  for (const auto& [id, psk] : external_psks) lookup.external_psks_[id] = Secret(psk);
  MLS_TRY(auto psks, lookup.resolve_psks(secrets.psks));
  Secret psk_secret = compute_psk_secret(psks);
  EpochSecrets probe = EpochSecrets::from_joiner(secrets.joiner_secret, psk_secret.view(), {});
  Secret key = welcome_key(probe.welcome_secret);
  Secret nonce = welcome_nonce(probe.welcome_secret);
  MLS_TRY(Bytes info_bytes, aead_open(key.view(), nonce.view(), {}, w->encrypted_group_info));
  MLS_TRY(GroupInfo info, decode_exact<GroupInfo>(info_bytes));
  MLS_TRY(RatchetTree tree, tree_for(info, ratchet_tree));
  MLS_TRY(State s, join_from_secrets(info, std::move(tree), key_package, kp, secrets, psk_secret));
  s.external_psks_ = std::move(lookup.external_psks_);
  return s;
}

Result<State> State::join_from_secrets(const GroupInfo& info, RatchetTree tree,
                                       const KeyPackageBundle& bundle, const KeyPackage& kp,
                                       const GroupSecrets& secrets, const Secret& psk_secret) {
  const GroupContext& gc = info.group_context;
  MLS_ENSURE(gc.version == kProtocolVersion && gc.cipher_suite == kCipherSuite, Errc::kInvalid,
             "GroupInfo version or cipher suite mismatch");
  MLS_ENSURE(!has_duplicate_extensions(info.extensions), Errc::kInvalid,
             "duplicate GroupInfo extension");
  MLS_CHECK(validate_joined_tree(tree, gc));
  const LeafNode* signer = tree.leaf(info.signer);
  MLS_ENSURE(signer, Errc::kInvalid, "GroupInfo signer is not a member");
  MLS_ENSURE(
      verify_with_label(signer->signature_key, "GroupInfoTBS", info.to_be_signed(), info.signature),
      Errc::kVerify, "bad GroupInfo signature");
  std::optional<uint32_t> own;
  for (uint32_t l : tree.occupied_leaves()) {
    if (*tree.leaf(l) == kp.leaf_node) own = l;
  }
  MLS_ENSURE(own, Errc::kNotFound, "own leaf not found in the ratchet tree");
  State s;
  s.secrets_ = EpochSecrets::from_joiner(secrets.joiner_secret, psk_secret.view(), encode(gc));
  Bytes tag = hmac_sha256(s.secrets_.confirmation_key.view(), gc.confirmed_transcript_hash);
  MLS_ENSURE(ct_equal(tag, info.confirmation_tag), Errc::kVerify, "bad confirmation tag");
  s.priv_ = PrivateTree(*own, bundle.encryption_key);
  if (secrets.path_secret) {
    uint32_t ancestor = tree_math::common_ancestor(2 * *own, 2 * info.signer);
    auto fdp = tree.filtered_direct_path(info.signer);
    auto it = std::find(fdp.begin(), fdp.end(), ancestor);
    MLS_ENSURE(it != fdp.end(), Errc::kInvalid, "path secret for a node not on the path");
    MLS_TRY(Secret ignored, s.priv_.implant(tree, fdp, static_cast<size_t>(it - fdp.begin()),
                                            *secrets.path_secret));
  }
  s.context_ = gc;
  s.tree_ = std::make_shared<const RatchetTree>(std::move(tree));
  s.signer_ = bundle.signer;
  s.interim_transcript_hash_ =
      interim_transcript_hash(gc.confirmed_transcript_hash, info.confirmation_tag);
  s.secret_tree_ = SecretTree(s.secrets_.encryption_secret, s.tree_->n_leaves());
  s.resumption_psks_[gc.epoch] = s.secrets_.resumption_psk;
  s.joined_from_ = info.signer;
  return s;
}

}  // namespace cercle::mls

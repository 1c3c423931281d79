// Vector checks for welcome, passive-client-welcome and passive-client-handling-commit.
#include "cercle/mls/key_package.h"
#include "cercle/mls/state.h"
#include "lib/mls/test/vectors.h"

namespace cercle::mls::vectors {

std::string welcome(const json::object& v) {
  auto kp = parse_key_package(hex(v, "key_package"));
  VEC_EXPECT(kp.ok(), "decode key package");
  auto init = HpkePrivateKey::from_private(hex(v, "init_priv"));
  VEC_EXPECT(init.ok() && init->public_key == kp->init_key, "init key");
  auto msg = decode_exact<MlsMessage>(hex(v, "welcome"));
  VEC_EXPECT(msg.ok() && std::holds_alternative<Welcome>(msg->body), "decode welcome");
  const Welcome& w = std::get<Welcome>(msg->body);
  Bytes ref = key_package_ref(*kp);
  const EncryptedGroupSecrets* mine = nullptr;
  for (const auto& s : w.secrets) {
    if (s.new_member == ref) mine = &s;
  }
  VEC_EXPECT(mine, "no secrets for our key package");
  auto gs_bytes = decrypt_with_label(*init, "Welcome", w.encrypted_group_info,
                                     mine->encrypted_group_secrets.kem_output,
                                     mine->encrypted_group_secrets.ciphertext);
  VEC_EXPECT(gs_bytes.ok(), "decrypt group secrets");
  auto gs = decode_exact<GroupSecrets>(*gs_bytes);
  VEC_EXPECT(gs.ok(), "decode group secrets");
  Bytes zero(32, 0);
  EpochSecrets probe = EpochSecrets::from_joiner(gs->joiner_secret, zero, {});
  auto info_bytes =
      aead_open(welcome_key(probe.welcome_secret).view(),
                welcome_nonce(probe.welcome_secret).view(), {}, w.encrypted_group_info);
  VEC_EXPECT(info_bytes.ok(), "decrypt group info");
  auto info = decode_exact<GroupInfo>(*info_bytes);
  VEC_EXPECT(info.ok(), "decode group info");
  VEC_EXPECT(verify_with_label(hex(v, "signer_pub"), "GroupInfoTBS", info->to_be_signed(),
                               info->signature),
             "group info signature");
  EpochSecrets s = EpochSecrets::from_joiner(gs->joiner_secret, zero, encode(info->group_context));
  VEC_EXPECT(hmac_sha256(s.confirmation_key.view(),
                         info->group_context.confirmed_transcript_hash) == info->confirmation_tag,
             "confirmation tag");
  return {};
}

std::string passive_client(const json::object& v) {
  auto sig = SignaturePrivateKey::from_seed(hex(v, "signature_priv"));
  auto enc = HpkePrivateKey::from_private(hex(v, "encryption_priv"));
  auto init = HpkePrivateKey::from_private(hex(v, "init_priv"));
  VEC_EXPECT(sig.ok() && enc.ok() && init.ok(), "private keys");
  KeyPackageBundle bundle{hex(v, "key_package"), *init, *enc, *sig};
  auto kp = bundle.decoded();
  VEC_EXPECT(kp.ok(), "decode key package");
  VEC_EXPECT(kp->init_key == init->public_key && kp->leaf_node.encryption_key == enc->public_key &&
                 kp->leaf_node.signature_key == sig->public_key,
             "key package keys");
  std::vector<std::pair<Bytes, Bytes>> psks;
  for (const auto& pv : v.at("external_psks").as_array()) {
    const auto& p = pv.as_object();
    psks.emplace_back(hex(p, "psk_id"), hex(p, "psk"));
  }
  std::optional<Bytes> tree;
  if (!v.at("ratchet_tree").is_null()) tree = hex(v, "ratchet_tree");
  std::optional<BytesView> tree_view;
  if (tree) tree_view = BytesView(*tree);
  auto state = State::join(hex(v, "welcome"), bundle, tree_view, psks);
  VEC_EXPECT(state.ok(), "join: " + (state.ok() ? std::string() : state.error().message));
  VEC_EXPECT(state->epoch_authenticator() == hex(v, "initial_epoch_authenticator"),
             "initial epoch authenticator");
  State current = std::move(*state);
  int epoch = 0;
  for (const auto& ev : v.at("epochs").as_array()) {
    const auto& e = ev.as_object();
    std::string at = " at epoch step " + std::to_string(epoch++);
    for (const auto& p : e.at("proposals").as_array()) {
      auto out = current.process(hex_value(p));
      VEC_EXPECT(out.ok(), "proposal" + at + ": " + (out.ok() ? "" : out.error().message));
      current = std::move(out->state);
    }
    auto out = current.process(hex(e, "commit"));
    VEC_EXPECT(out.ok(), "commit" + at + ": " + (out.ok() ? "" : out.error().message));
    VEC_EXPECT(!out->removed, "removed" + at);
    current = std::move(out->state);
    VEC_EXPECT(current.epoch_authenticator() == hex(e, "epoch_authenticator"),
               "epoch authenticator" + at);
  }
  return {};
}

}  // namespace cercle::mls::vectors

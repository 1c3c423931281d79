// Vector checks for tree math, codec headers, crypto basics, the key schedule, PSKs, transcript
// hashes, the secret tree and message protection.
#include "cercle/mls/crypto.h"
#include "cercle/mls/framing.h"
#include "cercle/mls/hpke.h"
#include "cercle/mls/key_schedule.h"
#include "lib/mls/test/vectors.h"
#include "cercle/mls/tree_math.h"

namespace cercle::mls::vectors {

namespace tm = tree_math;

static bool opt_eq(const json::value& expected, std::optional<uint32_t> got) {
  if (expected.is_null()) return !got.has_value();
  return got && *got == expected.to_number<uint32_t>();
}

std::string tree_math(const json::object& v) {
  uint32_t n = static_cast<uint32_t>(num(v, "n_leaves"));
  VEC_EXPECT(tm::node_width(n) == num(v, "n_nodes"), "n_nodes");
  VEC_EXPECT(tm::root(n) == num(v, "root"), "root");
  const auto& left = v.at("left").as_array();
  const auto& right = v.at("right").as_array();
  const auto& parent = v.at("parent").as_array();
  const auto& sibling = v.at("sibling").as_array();
  for (uint32_t i = 0; i < tm::node_width(n); ++i) {
    VEC_EXPECT(opt_eq(left[i], tm::left(i)), "left " + std::to_string(i));
    VEC_EXPECT(opt_eq(right[i], tm::right(i)), "right " + std::to_string(i));
    VEC_EXPECT(opt_eq(parent[i], tm::parent(i, n)), "parent " + std::to_string(i));
    VEC_EXPECT(opt_eq(sibling[i], tm::sibling(i, n)), "sibling " + std::to_string(i));
  }
  return {};
}

std::string deserialization(const json::object& v) {
  Bytes header = hex(v, "vlbytes_header");
  Reader r(header);
  uint64_t len = r.varint();
  VEC_EXPECT(r.ok() && r.at_end(), "header did not decode exactly");
  VEC_EXPECT(len == num(v, "length"), "length mismatch");
  Writer w;
  w.varint(len);
  VEC_EXPECT(w.bytes() == header, "re-encoding differs");
  return {};
}

std::string crypto_basics(const json::object& v) {
  const auto& rh = v.at("ref_hash").as_object();
  VEC_EXPECT(ref_hash(str(rh, "label"), hex(rh, "value")) == hex(rh, "out"), "ref_hash");
  const auto& ewl = v.at("expand_with_label").as_object();
  VEC_EXPECT(expand_with_label(hex(ewl, "secret"), str(ewl, "label"), hex(ewl, "context"),
                               num(ewl, "length"))
                     .copy_bytes() == hex(ewl, "out"),
             "expand_with_label");
  const auto& ds = v.at("derive_secret").as_object();
  VEC_EXPECT(derive_secret(hex(ds, "secret"), str(ds, "label")).copy_bytes() == hex(ds, "out"),
             "derive_secret");
  const auto& dts = v.at("derive_tree_secret").as_object();
  VEC_EXPECT(derive_tree_secret(hex(dts, "secret"), str(dts, "label"),
                                static_cast<uint32_t>(num(dts, "generation")), num(dts, "length"))
                     .copy_bytes() == hex(dts, "out"),
             "derive_tree_secret");
  const auto& swl = v.at("sign_with_label").as_object();
  Bytes pub = hex(swl, "pub");
  std::string label = str(swl, "label");
  Bytes content = hex(swl, "content");
  VEC_EXPECT(verify_with_label(pub, label, content, hex(swl, "signature")), "verify vector sig");
  auto key = SignaturePrivateKey::from_seed(hex(swl, "priv"));
  VEC_EXPECT(key.ok() && key->public_key == pub, "signature key mismatch");
  VEC_EXPECT(verify_with_label(pub, label, content, sign_with_label(*key, label, content)),
             "verify own sig");
  const auto& enc = v.at("encrypt_with_label").as_object();
  auto priv = HpkePrivateKey::from_private(hex(enc, "priv"));
  VEC_EXPECT(priv.ok() && priv->public_key == hex(enc, "pub"), "hpke key mismatch");
  std::string elabel = str(enc, "label");
  Bytes ctx = hex(enc, "context");
  auto pt = decrypt_with_label(*priv, elabel, ctx, hex(enc, "kem_output"), hex(enc, "ciphertext"));
  VEC_EXPECT(pt.ok() && *pt == hex(enc, "plaintext"), "decrypt_with_label");
  auto ct = encrypt_with_label(priv->public_key, elabel, ctx, hex(enc, "plaintext"));
  VEC_EXPECT(ct.ok(), "encrypt_with_label");
  auto pt2 = decrypt_with_label(*priv, elabel, ctx, ct->kem_output, ct->ciphertext);
  VEC_EXPECT(pt2.ok() && *pt2 == hex(enc, "plaintext"), "round trip");
  return {};
}

std::string secret_tree(const json::object& v) {
  const auto& sd = v.at("sender_data").as_object();
  Secret sds(hex(sd, "sender_data_secret"));
  Bytes ct = hex(sd, "ciphertext");
  VEC_EXPECT(sender_data_key(sds, ct).copy_bytes() == hex(sd, "key"), "sender data key");
  VEC_EXPECT(sender_data_nonce(sds, ct).copy_bytes() == hex(sd, "nonce"), "sender data nonce");
  const auto& leaves = v.at("leaves").as_array();
  Secret enc(hex(v, "encryption_secret"));
  SecretTree tree(enc, static_cast<uint32_t>(leaves.size()));
  for (uint32_t i = 0; i < leaves.size(); ++i) {
    for (const auto& gv : leaves[i].as_array()) {
      const auto& g = gv.as_object();
      uint32_t gen = static_cast<uint32_t>(num(g, "generation"));
      auto hs = tree.get(i, RatchetKind::kHandshake, gen);
      auto app = tree.get(i, RatchetKind::kApplication, gen);
      VEC_EXPECT(hs.ok() && app.ok(), "ratchet lookup failed");
      VEC_EXPECT(hs->key.copy_bytes() == hex(g, "handshake_key"), "handshake key");
      VEC_EXPECT(hs->nonce.copy_bytes() == hex(g, "handshake_nonce"), "handshake nonce");
      VEC_EXPECT(app->key.copy_bytes() == hex(g, "application_key"), "application key");
      VEC_EXPECT(app->nonce.copy_bytes() == hex(g, "application_nonce"), "application nonce");
    }
  }
  return {};
}

std::string key_schedule(const json::object& v) {
  Bytes group_id = hex(v, "group_id");
  Bytes init = hex(v, "initial_init_secret");
  uint64_t epoch = 0;
  for (const auto& ev : v.at("epochs").as_array()) {
    const auto& e = ev.as_object();
    GroupContext gc;
    gc.group_id = group_id;
    gc.epoch = epoch++;
    gc.tree_hash = hex(e, "tree_hash");
    gc.confirmed_transcript_hash = hex(e, "confirmed_transcript_hash");
    Bytes gc_bytes = encode(gc);
    VEC_EXPECT(gc_bytes == hex(e, "group_context"), "group context");
    EpochSecrets s =
        EpochSecrets::derive(init, hex(e, "commit_secret"), hex(e, "psk_secret"), gc_bytes);
    VEC_EXPECT(s.joiner_secret.copy_bytes() == hex(e, "joiner_secret"), "joiner");
    VEC_EXPECT(s.welcome_secret.copy_bytes() == hex(e, "welcome_secret"), "welcome");
    VEC_EXPECT(s.init_secret.copy_bytes() == hex(e, "init_secret"), "init");
    VEC_EXPECT(s.sender_data_secret.copy_bytes() == hex(e, "sender_data_secret"), "sender data");
    VEC_EXPECT(s.encryption_secret.copy_bytes() == hex(e, "encryption_secret"), "encryption");
    VEC_EXPECT(s.exporter_secret.copy_bytes() == hex(e, "exporter_secret"), "exporter");
    VEC_EXPECT(s.epoch_authenticator.copy_bytes() == hex(e, "epoch_authenticator"), "auth");
    VEC_EXPECT(s.external_secret.copy_bytes() == hex(e, "external_secret"), "external");
    VEC_EXPECT(s.confirmation_key.copy_bytes() == hex(e, "confirmation_key"), "confirm");
    VEC_EXPECT(s.membership_key.copy_bytes() == hex(e, "membership_key"), "membership");
    VEC_EXPECT(s.resumption_psk.copy_bytes() == hex(e, "resumption_psk"), "resumption");
    VEC_EXPECT(
        HpkePrivateKey::derive(s.external_secret.view()).public_key == hex(e, "external_pub"),
        "external_pub");
    const auto& ex = e.at("exporter").as_object();
    VEC_EXPECT(
        mls_exporter(s.exporter_secret, str(ex, "label"), hex(ex, "context"), num(ex, "length"))
                .copy_bytes() == hex(ex, "secret"),
        "exporter output");
    init = s.init_secret.copy_bytes();
  }
  return {};
}

std::string psk_secret(const json::object& v) {
  std::vector<PskWithId> psks;
  for (const auto& pv : v.at("psks").as_array()) {
    const auto& p = pv.as_object();
    PreSharedKeyId id;
    id.psktype = kPskExternal;
    id.psk_id = hex(p, "psk_id");
    id.psk_nonce = hex(p, "psk_nonce");
    psks.push_back(PskWithId{id, Secret(hex(p, "psk"))});
  }
  VEC_EXPECT(compute_psk_secret(psks).copy_bytes() == hex(v, "psk_secret"), "psk_secret");
  return {};
}

std::string transcript_hashes(const json::object& v) {
  auto ac = decode_exact<AuthenticatedContent>(hex(v, "authenticated_content"));
  VEC_EXPECT(ac.ok(), "decode AuthenticatedContent");
  VEC_EXPECT(ac->content.content_type() == ContentType::kCommit, "not a commit");
  Bytes confirmed = confirmed_transcript_hash(hex(v, "interim_transcript_hash_before"), *ac);
  VEC_EXPECT(confirmed == hex(v, "confirmed_transcript_hash_after"), "confirmed hash");
  VEC_EXPECT(hmac_sha256(hex(v, "confirmation_key"), confirmed) == ac->auth.confirmation_tag,
             "confirmation tag");
  VEC_EXPECT(interim_transcript_hash(confirmed, ac->auth.confirmation_tag) ==
                 hex(v, "interim_transcript_hash_after"),
             "interim hash");
  return {};
}

}  // namespace cercle::mls::vectors

#include "cercle/mls/hpke.h"

#include <sodium.h>

#include "cercle/mls/codec.h"
#include "cercle/mls/crypto.h"

namespace cercle::mls {
namespace {

// suite_id = "KEM" || I2OSP(0x0020, 2) and "HPKE" || kem || kdf(0x0001) || aead(0x0003).
const Bytes kKemSuite = {'K', 'E', 'M', 0x00, 0x20};
const Bytes kHpkeSuite = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03};

Bytes labeled_ikm(const Bytes& suite, std::string_view label, BytesView ikm) {
  Bytes in = to_bytes("HPKE-v1");
  in.insert(in.end(), suite.begin(), suite.end());
  in.insert(in.end(), label.begin(), label.end());
  in.insert(in.end(), ikm.begin(), ikm.end());
  return in;
}

Secret labeled_extract(const Bytes& suite, BytesView salt, std::string_view label, BytesView ikm) {
  Bytes in = labeled_ikm(suite, label, ikm);
  Secret out = hkdf_extract(salt, in);
  sodium_memzero(in.data(), in.size());
  return out;
}

Secret labeled_expand(const Bytes& suite, BytesView prk, std::string_view label, BytesView info,
                      size_t length) {
  Bytes in = {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  Bytes rest = labeled_ikm(suite, label, info);
  in.insert(in.end(), rest.begin(), rest.end());
  return hkdf_expand(prk, in, length);
}

Result<Secret> dh(const Secret& sk, BytesView pk) {
  if (pk.size() != kKemKeyLen || sk.size() != kKemKeyLen) {
    return make_error(Errc::kCrypto, "bad X25519 key size");
  }
  Bytes out(crypto_scalarmult_BYTES);
  // libsodium rejects an all-zero shared secret (small-order public keys).
  if (crypto_scalarmult(out.data(), sk.data(), pk.data()) != 0) {
    return make_error(Errc::kCrypto, "X25519 failed");
  }
  return Secret(std::move(out));
}

Secret extract_and_expand(const Secret& dh_out, BytesView kem_context) {
  Secret prk = labeled_extract(kKemSuite, {}, "eae_prk", dh_out.view());
  return labeled_expand(kKemSuite, prk.view(), "shared_secret", kem_context, kHashLen);
}

HpkeContext key_schedule(const Secret& shared_secret, BytesView info) {
  Secret psk_id_hash = labeled_extract(kHpkeSuite, {}, "psk_id_hash", {});
  Secret info_hash = labeled_extract(kHpkeSuite, {}, "info_hash", info);
  Bytes ctx = {0x00};  // mode_base
  ctx.insert(ctx.end(), psk_id_hash.data(), psk_id_hash.data() + psk_id_hash.size());
  ctx.insert(ctx.end(), info_hash.data(), info_hash.data() + info_hash.size());
  Secret secret = labeled_extract(kHpkeSuite, shared_secret.view(), "secret", {});
  return HpkeContext(labeled_expand(kHpkeSuite, secret.view(), "key", ctx, kAeadKeyLen),
                     labeled_expand(kHpkeSuite, secret.view(), "base_nonce", ctx, kAeadNonceLen),
                     labeled_expand(kHpkeSuite, secret.view(), "exp", ctx, kHashLen));
}

}  // namespace

HpkePrivateKey HpkePrivateKey::generate() {
  Bytes sk = random_bytes(kKemKeyLen);
  auto key = from_private(sk);
  sodium_memzero(sk.data(), sk.size());
  return std::move(key).value();
}

Result<HpkePrivateKey> HpkePrivateKey::from_private(BytesView priv) {
  crypto_init();
  if (priv.size() != kKemKeyLen) return make_error(Errc::kCrypto, "bad X25519 private key size");
  HpkePrivateKey key;
  key.key = Secret(priv);
  key.public_key.resize(kKemKeyLen);
  crypto_scalarmult_base(key.public_key.data(), priv.data());
  return key;
}

HpkePrivateKey HpkePrivateKey::derive(BytesView ikm) {
  Secret prk = labeled_extract(kKemSuite, {}, "dkp_prk", ikm);
  Secret sk = labeled_expand(kKemSuite, prk.view(), "sk", {}, kKemKeyLen);
  return std::move(from_private(sk.view())).value();
}

Bytes HpkeContext::nonce() const {
  Bytes n = base_nonce_.copy_bytes();
  for (size_t i = 0; i < 8 && i < n.size(); ++i) {
    n[n.size() - 1 - i] ^= static_cast<uint8_t>(seq_ >> (8 * i));
  }
  return n;
}

Result<Bytes> HpkeContext::seal(BytesView aad, BytesView plaintext) {
  auto ct = aead_seal(key_.view(), nonce(), aad, plaintext);
  if (ct) ++seq_;
  return ct;
}

Result<Bytes> HpkeContext::open(BytesView aad, BytesView ciphertext) {
  auto pt = aead_open(key_.view(), nonce(), aad, ciphertext);
  if (pt) ++seq_;
  return pt;
}

Secret HpkeContext::export_secret(BytesView exporter_context, size_t length) const {
  return labeled_expand(kHpkeSuite, exporter_secret_.view(), "sec", exporter_context, length);
}

Result<HpkeSenderSetup> hpke_setup_base_s(BytesView pk_r, BytesView info,
                                          const HpkePrivateKey* ephemeral) {
  HpkePrivateKey eph = ephemeral ? *ephemeral : HpkePrivateKey::generate();
  MLS_TRY(Secret dh_out, dh(eph.key, pk_r));
  Bytes kem_context = eph.public_key;
  kem_context.insert(kem_context.end(), pk_r.begin(), pk_r.end());
  Secret shared = extract_and_expand(dh_out, kem_context);
  return HpkeSenderSetup{eph.public_key, key_schedule(shared, info)};
}

Result<HpkeContext> hpke_setup_base_r(BytesView enc, const HpkePrivateKey& sk_r, BytesView info) {
  MLS_TRY(Secret dh_out, dh(sk_r.key, enc));
  Bytes kem_context(enc.begin(), enc.end());
  kem_context.insert(kem_context.end(), sk_r.public_key.begin(), sk_r.public_key.end());
  Secret shared = extract_and_expand(dh_out, kem_context);
  return key_schedule(shared, info);
}

Result<HpkeCiphertext> hpke_seal(BytesView pk_r, BytesView info, BytesView aad, BytesView pt) {
  MLS_TRY(auto setup, hpke_setup_base_s(pk_r, info));
  MLS_TRY(Bytes ct, setup.context.seal(aad, pt));
  return HpkeCiphertext{std::move(setup.enc), std::move(ct)};
}

Result<Bytes> hpke_open(const HpkePrivateKey& sk_r, BytesView enc, BytesView info, BytesView aad,
                        BytesView ct) {
  MLS_TRY(auto ctx, hpke_setup_base_r(enc, sk_r, info));
  return ctx.open(aad, ct);
}

static Bytes encrypt_context(std::string_view label, BytesView context) {
  Writer w;
  std::string full = "MLS 1.0 ";
  full += label;
  w.opaque(to_bytes(full));
  w.opaque(context);
  return w.take();
}

Result<HpkeCiphertext> encrypt_with_label(BytesView public_key, std::string_view label,
                                          BytesView context, BytesView plaintext) {
  return hpke_seal(public_key, encrypt_context(label, context), {}, plaintext);
}

Result<Bytes> decrypt_with_label(const HpkePrivateKey& key, std::string_view label,
                                 BytesView context, BytesView kem_output, BytesView ciphertext) {
  return hpke_open(key, kem_output, encrypt_context(label, context), {}, ciphertext);
}

}  // namespace cercle::mls

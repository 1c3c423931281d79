#include "cercle/mls/crypto.h"

#include <sodium.h>

#include "cercle/mls/codec.h"

namespace cercle::mls {

bool crypto_init() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Bytes sha256(BytesView data) {
  crypto_init();
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Bytes hmac_sha256(BytesView key, BytesView data) {
  crypto_init();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, data.data(), data.size());
  Bytes out(crypto_auth_hmacsha256_BYTES);
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

Secret hkdf_extract(BytesView salt, BytesView ikm) {
  // RFC 5869: an absent salt is HashLen zeros; HMAC pads short keys with zeros anyway.
  static const uint8_t kZero[kHashLen] = {};
  BytesView key = salt.empty() ? BytesView(kZero, kHashLen) : salt;
  return Secret(hmac_sha256(key, ikm));
}

Secret hkdf_expand(BytesView prk, BytesView info, size_t length) {
  crypto_init();
  Bytes out;
  out.reserve(length + kHashLen);
  Bytes t;
  for (uint8_t counter = 1; out.size() < length && counter != 0; ++counter) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, prk.data(), prk.size());
    crypto_auth_hmacsha256_update(&st, t.data(), t.size());
    crypto_auth_hmacsha256_update(&st, info.data(), info.size());
    crypto_auth_hmacsha256_update(&st, &counter, 1);
    t.resize(kHashLen);
    crypto_auth_hmacsha256_final(&st, t.data());
    sodium_memzero(&st, sizeof st);
    out.insert(out.end(), t.begin(), t.end());
  }
  if (!t.empty()) sodium_memzero(t.data(), t.size());
  Secret result(BytesView(out.data(), std::min(length, out.size())));
  sodium_memzero(out.data(), out.size());
  return result;
}

Secret expand_with_label(BytesView secret, std::string_view label, BytesView context,
                         size_t length) {
  Writer w;
  w.u16(static_cast<uint16_t>(length));
  std::string full = "MLS 1.0 ";
  full += label;
  w.opaque(to_bytes(full));
  w.opaque(context);
  return hkdf_expand(secret, w.bytes(), length);
}

Secret derive_secret(BytesView secret, std::string_view label) {
  return expand_with_label(secret, label, {}, kHashLen);
}

Secret derive_tree_secret(BytesView secret, std::string_view label, uint32_t generation,
                          size_t length) {
  Writer w;
  w.u32(generation);
  return expand_with_label(secret, label, w.bytes(), length);
}

Bytes ref_hash(std::string_view label, BytesView value) {
  Writer w;
  w.opaque(to_bytes(label));
  w.opaque(value);
  return sha256(w.bytes());
}

SignaturePrivateKey SignaturePrivateKey::generate() {
  crypto_init();
  Bytes seed = random_bytes(crypto_sign_SEEDBYTES);
  auto key = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return std::move(key).value();
}

Result<SignaturePrivateKey> SignaturePrivateKey::from_seed(BytesView seed) {
  crypto_init();
  if (seed.size() != crypto_sign_SEEDBYTES) return make_error(Errc::kCrypto, "bad seed size");
  SignaturePrivateKey key;
  Bytes sk(crypto_sign_SECRETKEYBYTES);
  key.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_seed_keypair(key.public_key.data(), sk.data(), seed.data());
  key.secret = Secret(std::move(sk));
  return key;
}

Bytes SignaturePrivateKey::seed() const {
  if (secret.size() < crypto_sign_SEEDBYTES) return {};
  return Bytes(secret.data(), secret.data() + crypto_sign_SEEDBYTES);
}

static Bytes sign_content(std::string_view label, BytesView content) {
  Writer w;
  std::string full = "MLS 1.0 ";
  full += label;
  w.opaque(to_bytes(full));
  w.opaque(content);
  return w.take();
}

Bytes sign_with_label(const SignaturePrivateKey& key, std::string_view label, BytesView content) {
  crypto_init();
  if (key.secret.size() != crypto_sign_SECRETKEYBYTES) return {};
  Bytes msg = sign_content(label, content);
  Bytes sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), key.secret.data());
  return sig;
}

bool verify_with_label(BytesView public_key, std::string_view label, BytesView content,
                       BytesView signature) {
  crypto_init();
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return false;
  }
  Bytes msg = sign_content(label, content);
  return crypto_sign_verify_detached(signature.data(), msg.data(), msg.size(), public_key.data()) ==
         0;
}

Result<Bytes> aead_seal(BytesView key, BytesView nonce, BytesView aad, BytesView plaintext) {
  crypto_init();
  if (key.size() != kAeadKeyLen || nonce.size() != kAeadNonceLen) {
    return make_error(Errc::kCrypto, "bad AEAD key or nonce size");
  }
  Bytes out(plaintext.size() + kAeadTagLen);
  unsigned long long out_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                            plaintext.size(), aad.data(), aad.size(), nullptr,
                                            nonce.data(), key.data());
  out.resize(out_len);
  return out;
}

Result<Bytes> aead_open(BytesView key, BytesView nonce, BytesView aad, BytesView ciphertext) {
  crypto_init();
  if (key.size() != kAeadKeyLen || nonce.size() != kAeadNonceLen ||
      ciphertext.size() < kAeadTagLen) {
    return make_error(Errc::kCrypto, "bad AEAD input sizes");
  }
  Bytes out(ciphertext.size() - kAeadTagLen);
  unsigned long long out_len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                ciphertext.size(), aad.data(), aad.size(),
                                                nonce.data(), key.data()) != 0) {
    return make_error(Errc::kCrypto, "AEAD authentication failed");
  }
  out.resize(out_len);
  return out;
}

Bytes random_bytes(size_t n) {
  crypto_init();
  Bytes out(n);
  randombytes_buf(out.data(), n);
  return out;
}

}  // namespace cercle::mls

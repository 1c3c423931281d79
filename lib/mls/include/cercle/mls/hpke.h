// HPKE (RFC 9180) base mode for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, and
// the MLS EncryptWithLabel / DecryptWithLabel wrappers (RFC 9420 section 5.1.3).
// Thread-safety: HpkePrivateKey is an immutable value; HpkeContext is a single-owner object
// (its sequence number advances).
#pragma once

#include <string_view>

#include "cercle/mls/bytes.h"
#include "cercle/mls/codec.h"
#include "cercle/mls/result.h"

namespace cercle::mls {

// X25519 private key (wiped on destruction) with its public key.
struct HpkePrivateKey {
  Secret key;
  Bytes public_key;

  // Returns a fresh random key pair.
  static HpkePrivateKey generate();
  // Returns the key pair for a serialised private key; kCrypto on a bad size.
  static Result<HpkePrivateKey> from_private(BytesView priv);
  // KEM.DeriveKeyPair(ikm) (RFC 9180 7.1.3).
  static HpkePrivateKey derive(BytesView ikm);
};

struct HpkeCiphertext {
  Bytes kem_output;
  Bytes ciphertext;

  void encode(Writer& w) const {
    w.opaque(kem_output);
    w.opaque(ciphertext);
  }
  static HpkeCiphertext decode(Reader& r) {
    HpkeCiphertext c;
    c.kem_output = r.opaque();
    c.ciphertext = r.opaque();
    return c;
  }
  bool operator==(const HpkeCiphertext&) const = default;
};

// An HPKE encryption context (RFC 9180 5.2): key, base nonce, exporter secret and sequence.
class HpkeContext {
 public:
  HpkeContext(Secret key, Secret base_nonce, Secret exporter_secret)
      : key_(std::move(key)),
        base_nonce_(std::move(base_nonce)),
        exporter_secret_(std::move(exporter_secret)) {}
  Result<Bytes> seal(BytesView aad, BytesView plaintext);
  Result<Bytes> open(BytesView aad, BytesView ciphertext);
  Secret export_secret(BytesView exporter_context, size_t length) const;
  // Only for known-answer tests.
  void set_sequence(uint64_t seq) { seq_ = seq; }
  const Secret& key() const { return key_; }
  const Secret& base_nonce() const { return base_nonce_; }

 private:
  Bytes nonce() const;
  Secret key_;
  Secret base_nonce_;
  Secret exporter_secret_;
  uint64_t seq_ = 0;
};

struct HpkeSenderSetup {
  Bytes enc;
  HpkeContext context;
};

// SetupBaseS; `ephemeral` fixes the ephemeral key (tests only). kCrypto on a bad public key.
Result<HpkeSenderSetup> hpke_setup_base_s(BytesView pk_r, BytesView info,
                                          const HpkePrivateKey* ephemeral = nullptr);
// SetupBaseR; kCrypto on a bad encapsulation.
Result<HpkeContext> hpke_setup_base_r(BytesView enc, const HpkePrivateKey& sk_r, BytesView info);

// Single-shot SealBase / OpenBase.
Result<HpkeCiphertext> hpke_seal(BytesView pk_r, BytesView info, BytesView aad, BytesView pt);
Result<Bytes> hpke_open(const HpkePrivateKey& sk_r, BytesView enc, BytesView info, BytesView aad,
                        BytesView ct);

// RFC 9420 EncryptWithLabel / DecryptWithLabel (label without "MLS 1.0 ").
Result<HpkeCiphertext> encrypt_with_label(BytesView public_key, std::string_view label,
                                          BytesView context, BytesView plaintext);
Result<Bytes> decrypt_with_label(const HpkePrivateKey& key, std::string_view label,
                                 BytesView context, BytesView kem_output, BytesView ciphertext);

}  // namespace cercle::mls

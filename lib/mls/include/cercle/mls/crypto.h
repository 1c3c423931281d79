// Crypto layer of cipher suite 0x0003 (MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519) on
// libsodium: SHA-256, HMAC-SHA256, HKDF (RFC 5869, built on HMAC), the MLS labelled derivations
// (RFC 9420 section 5), Ed25519 signatures with labels and the ChaCha20-Poly1305 AEAD.
// Thread-safety: free functions and immutable key values; thread-compatible. libsodium is
// initialised on first use.
#pragma once

#include <string_view>

#include "cercle/mls/bytes.h"
#include "cercle/mls/result.h"

namespace cercle::mls {

inline constexpr uint16_t kCipherSuite = 3;
inline constexpr uint16_t kProtocolVersion = 1;  // mls10
inline constexpr size_t kHashLen = 32;
inline constexpr size_t kAeadKeyLen = 32;
inline constexpr size_t kAeadNonceLen = 12;
inline constexpr size_t kAeadTagLen = 16;
inline constexpr size_t kKemKeyLen = 32;
inline constexpr size_t kSignaturePublicLen = 32;

// Initialises libsodium once; false if it cannot (then every primitive fails safely).
bool crypto_init();

Bytes sha256(BytesView data);
Bytes hmac_sha256(BytesView key, BytesView data);
Secret hkdf_extract(BytesView salt, BytesView ikm);
// Returns L bytes of HKDF-Expand; L must be <= 255 * 32 (callers use fixed small lengths).
Secret hkdf_expand(BytesView prk, BytesView info, size_t length);

// RFC 9420 5.1: ExpandWithLabel / DeriveSecret / DeriveTreeSecret, label without "MLS 1.0 ".
Secret expand_with_label(BytesView secret, std::string_view label, BytesView context,
                         size_t length);
Secret derive_secret(BytesView secret, std::string_view label);
Secret derive_tree_secret(BytesView secret, std::string_view label, uint32_t generation,
                          size_t length);
// RFC 9420 5.2: RefHash with the full label (e.g. "MLS 1.0 KeyPackage Reference").
Bytes ref_hash(std::string_view label, BytesView value);

// Ed25519 signing key; the seed and expanded key are wiped on destruction.
struct SignaturePrivateKey {
  Secret secret;  // libsodium 64-byte secret key (seed || public key)
  Bytes public_key;

  // Returns a fresh random key.
  static SignaturePrivateKey generate();
  // Returns the key for a 32-byte seed; kCrypto if the seed has the wrong size.
  static Result<SignaturePrivateKey> from_seed(BytesView seed);
  // Returns the 32-byte seed (the serialised private key).
  Bytes seed() const;
};

Bytes sign_with_label(const SignaturePrivateKey& key, std::string_view label, BytesView content);
bool verify_with_label(BytesView public_key, std::string_view label, BytesView content,
                       BytesView signature);

// ChaCha20-Poly1305 (IETF). Open fails with kCrypto on a bad tag or sizes.
Result<Bytes> aead_seal(BytesView key, BytesView nonce, BytesView aad, BytesView plaintext);
Result<Bytes> aead_open(BytesView key, BytesView nonce, BytesView aad, BytesView ciphertext);

// Fills a fresh random buffer.
Bytes random_bytes(size_t n);

}  // namespace cercle::mls

// The few primitives Web Push needs, over OpenSSL 3: P-256 keys, ECDH, HKDF-SHA-256 (one block),
// AES-128-GCM, ES256 signatures in the JOSE form (raw r||s) and random bytes. Byte strings are
// std::string. Keys are move-only; every function is safe on any thread (no shared state).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "server/common/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace cercle::push {

inline constexpr size_t kPointSize = 65;  // An uncompressed P-256 point: 0x04 || x || y.
inline constexpr size_t kScalarSize = 32;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const;
};

// A P-256 key pair, or a public key alone.
class P256Key {
 public:
  static Result<P256Key> generate();
  // Errors: kInvalidArgument when the scalar is not 32 bytes in [1, n-1].
  static Result<P256Key> from_private(std::string_view scalar);
  // Errors: kInvalidArgument unless `point` is an uncompressed point on the curve.
  static Result<P256Key> from_public(std::string_view point);
  // A PKCS#8 PEM private key. Errors: kInvalidArgument when it is not a P-256 private key.
  static Result<P256Key> from_pem(std::string_view pem);

  // PKCS#8 PEM of the private key (never logged). Errors: kInternal, kInvalidArgument (no private).
  Result<std::string> to_pem() const;
  const std::string& public_point() const { return public_; }
  bool has_private() const { return private_; }
  EVP_PKEY* get() const { return key_.get(); }

 private:
  P256Key(std::unique_ptr<EVP_PKEY, PkeyFree> key, bool has_private);
  std::unique_ptr<EVP_PKEY, PkeyFree> key_;
  std::string public_;
  bool private_ = false;
};

// The shared secret's x coordinate (32 bytes). `mine` must hold a private key.
Result<std::string> ecdh(const P256Key& mine, const P256Key& theirs);

std::string hmac_sha256(std::string_view key, std::string_view data);
// RFC 5869. Expand gives at most 32 bytes (one block), all Web Push ever asks for.
std::string hkdf_extract(std::string_view salt, std::string_view ikm);
std::string hkdf_expand(std::string_view prk, std::string_view info, size_t length);

// AES-128-GCM with a 96-bit nonce and no associated data; the 16-byte tag follows the ciphertext.
Result<std::string> aes128gcm_seal(std::string_view key, std::string_view nonce,
                                   std::string_view plaintext);
// Errors: kInvalidArgument when the tag does not verify.
Result<std::string> aes128gcm_open(std::string_view key, std::string_view nonce,
                                   std::string_view sealed);

// ECDSA P-256 with SHA-256, in the JWS form: r || s, 32 bytes each (RFC 7518 section 3.4).
Result<std::string> es256_sign(const P256Key& key, std::string_view message);
bool es256_verify(const P256Key& key, std::string_view message, std::string_view signature);

std::string random_bytes(size_t size);

}  // namespace cercle::push

// Encrypted content for Web Push: RFC 8188's "aes128gcm" content coding in a single record, keyed
// as RFC 8291 says from an ECDH between a fresh key of the sender and the subscription's p256dh,
// mixed with the subscription's auth secret. The push service sees only the header (a random
// salt and the sender's one-time public key) and the ciphertext's length. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/common/result.h"
#include "server/push/crypto.h"

namespace cercle::push {

inline constexpr size_t kSaltSize = 16;
inline constexpr size_t kAuthSecretSize = 16;
inline constexpr uint32_t kRecordSize = 4096;
// RFC 8291 section 4: push services must accept 4096-byte bodies; the header is 86 bytes, then
// the tag (16) and the padding delimiter (1).
inline constexpr size_t kMaxPlaintext = 4096 - 86 - 16 - 1;

// RFC 8188 section 2, one record (sequence number 0, last-record delimiter 0x02, no padding).
// Errors: kInvalidArgument when the plaintext does not fit the record or the key id is longer
// than 255 bytes.
Result<std::string> ece_seal(std::string_view ikm, std::string_view salt, std::string_view key_id,
                             std::string_view plaintext, uint32_t record_size);

struct EceHeader {
  std::string_view salt;
  uint32_t record_size = 0;
  std::string_view key_id;
  std::string_view ciphertext;  // The rest of the body.
};
// Errors: kInvalidArgument for a short body or an impossible record size.
Result<EceHeader> ece_parse(std::string_view body);
// Opens a single-record body. Errors: kInvalidArgument (not authentic, more than one record, no
// last-record delimiter).
Result<std::string> ece_open(std::string_view ikm, std::string_view body);

// A device's push subscription keys, raw bytes: `p256dh` a 65-byte point, `auth` 16 bytes.
struct PushKeys {
  std::string p256dh;
  std::string auth;
};

// RFC 8291 section 3: encrypts `plaintext` for the subscription with a fresh key and salt.
// Errors: kInvalidArgument (bad keys, plaintext over kMaxPlaintext).
Result<std::string> encrypt_push(const PushKeys& keys, std::string_view plaintext);
// The same with the sender's one-time key and the salt chosen by the caller (RFC 8291's example).
Result<std::string> encrypt_push_with(const PushKeys& keys, const P256Key& sender,
                                      std::string_view salt, std::string_view plaintext);
// The user agent's side: what a browser does with its subscription's private key. Used by tests
// and the push-service double. Errors: kInvalidArgument when the body does not decrypt.
Result<std::string> decrypt_push(const P256Key& subscription, std::string_view auth,
                                 std::string_view body);

}  // namespace cercle::push

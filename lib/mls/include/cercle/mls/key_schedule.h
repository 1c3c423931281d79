// Key schedule of RFC 9420 section 8 (epoch secrets, exporter, PSK secret, welcome key), the
// transcript hashes (section 8.2) and the secret tree (section 9) with its generation limits.
// Thread-safety: EpochSecrets is an immutable value. SecretTree is a value whose lookups
// advance ratchets; the group state copies it before changing it, so every State stays
// immutable.
#pragma once

#include <array>
#include <map>
#include <string_view>
#include <vector>

#include "cercle/mls/bytes.h"
#include "cercle/mls/codec.h"
#include "cercle/mls/messages.h"
#include "cercle/mls/result.h"

namespace cercle::mls {

struct EpochSecrets {
  Secret joiner_secret;
  Secret welcome_secret;
  Secret init_secret;
  Secret sender_data_secret;
  Secret encryption_secret;
  Secret exporter_secret;
  Secret epoch_authenticator;
  Secret external_secret;
  Secret confirmation_key;
  Secret membership_key;
  Secret resumption_psk;

  // From the previous init_secret, the commit secret, the PSK secret and GroupContext_[n].
  static EpochSecrets derive(BytesView init_secret, BytesView commit_secret, BytesView psk_secret,
                             BytesView group_context);
  // From a joiner_secret (Welcome path).
  static EpochSecrets from_joiner(const Secret& joiner_secret, BytesView psk_secret,
                                  BytesView group_context);
  void encode(Writer& w) const;
  static EpochSecrets decode(Reader& r);
};

// MLS-Exporter (RFC 9420 8.5).
Secret mls_exporter(const Secret& exporter_secret, std::string_view label, BytesView context,
                    size_t length);

struct PskWithId {
  PreSharedKeyId id;
  Secret psk;
};
// psk_secret of RFC 9420 8.4 (all zeros when `psks` is empty).
Secret compute_psk_secret(const std::vector<PskWithId>& psks);

// welcome_key / welcome_nonce from the welcome secret.
Secret welcome_key(const Secret& welcome_secret);
Secret welcome_nonce(const Secret& welcome_secret);

// Transcript hashes (RFC 9420 8.2).
Bytes confirmed_transcript_hash(BytesView interim_before, const AuthenticatedContent& commit);
Bytes interim_transcript_hash(BytesView confirmed, BytesView confirmation_tag);

// sender_data key and nonce (RFC 9420 6.3.2).
Secret sender_data_key(const Secret& sender_data_secret, BytesView ciphertext);
Secret sender_data_nonce(const Secret& sender_data_secret, BytesView ciphertext);

enum class RatchetKind : uint8_t { kHandshake = 0, kApplication = 1 };

struct KeyAndNonce {
  uint32_t generation = 0;
  Secret key;
  Secret nonce;
};

// How far a receiver ratchets forward for one message, and how many skipped keys it keeps.
inline constexpr uint32_t kMaxForwardGenerations = 1024;
inline constexpr size_t kMaxSkippedKeys = 64;

class SecretTree {
 public:
  SecretTree() = default;
  SecretTree(const Secret& encryption_secret, uint32_t n_leaves);

  // The next key for sending from `leaf`; advances that ratchet.
  Result<KeyAndNonce> next(uint32_t leaf, RatchetKind kind);
  // The key of `generation` for receiving; each key is handed out once (kLimit on replay,
  // a too-old generation or a jump beyond kMaxForwardGenerations).
  Result<KeyAndNonce> get(uint32_t leaf, RatchetKind kind, uint32_t generation);
  uint32_t n_leaves() const { return n_leaves_; }

  void encode(Writer& w) const;
  static SecretTree decode(Reader& r);

 private:
  struct Ratchet {
    Secret secret;
    uint32_t generation = 0;
    std::map<uint32_t, std::pair<Secret, Secret>> skipped;
  };
  Result<Ratchet*> ratchet(uint32_t leaf, RatchetKind kind);
  Status materialize_leaf(uint32_t leaf);

  uint32_t n_leaves_ = 0;
  std::map<uint32_t, Secret> nodes_;
  std::map<uint32_t, std::array<Ratchet, 2>> ratchets_;
};

}  // namespace cercle::mls

// An account's device chain: the signed list of its devices, so that neither the relay nor anyone
// else can give an account a device its owner never approved (docs/SECURITY.md, "Device approval").
//
// The chain is a list of v1::DeviceLink. Link 0 adds the account's first device and is signed by
// that device (trusted on first use). Every later link is signed by a device already in the chain;
// an ADD also carries the new device's proof that it holds its key. Each link names the hash of the
// one before, so the relay can neither reorder nor drop a link without breaking the chain, and a
// client that pinned an account's chain (ChainPin) notices when the relay shows another one.
//
// A new device is approved by comparing a short code shown on both devices. The code mixes a nonce
// from each side, and the new device commits to its nonce before it sees the other one, so a relay
// in the middle cannot choose keys that give the same code (one chance in a million per attempt).
//
// The relay (server/domain/identity) and every client (client/sdk, and web/src/core in
// TypeScript, checked against device_chain.json beside this file) use the same transcripts.
// Pure functions over plain values and libsodium; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cercle/base/result.h"
#include "proto/cercle.pb.h"

namespace cercle::policy {

inline constexpr std::string_view kLinkLabel = "cercle-device-link-v1";
inline constexpr std::string_view kPossessionLabel = "cercle-device-possession-v1";
inline constexpr std::string_view kCommitmentLabel = "cercle-pairing-commitment-v1";
inline constexpr std::string_view kCodeLabel = "cercle-pairing-code-v1";
inline constexpr size_t kMaxChainLinks = 1000;
inline constexpr size_t kNonceBytes = 32;

// Why a chain or a link was refused. Each maps to one wire error (see the relay's identity
// service).
enum class ChainErrc {
  kMalformed,      // A field has the wrong size or value (op, key lengths, seq 0 not an ADD, ...).
  kBadSignature,   // The link's signature or the new device's possession proof does not verify.
  kNotApproved,    // The signer is not a current device of the account.
  kBrokenLink,     // seq or previous_hash does not follow the chain.
  kDuplicate,      // ADD of a key already in the chain (current or removed).
  kUnknownDevice,  // REMOVE of a key that is not a current device.
  kTooLong,        // More than kMaxChainLinks links.
  kRootChanged,    // The chain does not start with the pinned first link.
  kRolledBack,     // Shorter than the pinned chain, or another link where the pin has one.
};

struct ChainRefusal {
  ChainErrc code;
  std::string message;  // English, for logs; the UI words refusals from `code`.
};

struct ChainDevice {
  std::string device_key;
  std::string mls_key;
  uint64_t added_seq = 0;
};

// What a valid chain says: its current devices and the hash of every link (hashes[i] is link i's).
struct ChainView {
  std::vector<ChainDevice> devices;
  std::vector<std::string> hashes;
  std::vector<std::string> removed_keys;  // device_key of every removed device: never added again.

  bool empty() const { return hashes.empty(); }
  const std::string& root() const { return hashes.front(); }  // Only when !empty().
  // The device whose device_key (or mls_key, with by_mls_key) is `key`; nullptr when none.
  const ChainDevice* find(std::string_view key, bool by_mls_key = false) const;
};

// What a client keeps of an account's chain once seen: its first link and how far it had read.
struct ChainPin {
  std::string root;  // Hash of link 0.
  uint64_t length = 0;
  std::string head;  // Hash of link length-1.
};

// The result of a check: the view, or why it was refused.
using ChainCheck = base::Result<ChainView, ChainRefusal>;

// The bytes each signature covers and the hash of a link (SHA-256 of transcript || signature).
std::string link_transcript(std::string_view handle, const v1::DeviceLink& link);
std::string link_hash(std::string_view handle, const v1::DeviceLink& link);
std::string possession_transcript(std::string_view handle, std::string_view device_key,
                                  std::string_view mls_key);

// Checks `link` as the next link of `view` (an empty view for link 0) for account `handle`.
// Returns the view with the link applied, or the refusal; `view` is left unchanged.
ChainCheck append(const ChainView& view, std::string_view handle, const v1::DeviceLink& link);

// Checks a whole chain from link 0.
ChainCheck verify_chain(std::string_view handle, std::span<const v1::DeviceLink> links);

// Whether `view` is the pinned chain or an extension of it (kRootChanged, kRolledBack otherwise).
std::optional<ChainRefusal> check_pin(const ChainPin& pin, const ChainView& view);
ChainPin pin_of(const ChainView& view);  // Only when !view.empty().

// Makes the next ADD (or REMOVE, with possession empty) link of `view`, signed with the
// libsodium Ed25519 secret key `signer_secret` (64 bytes; its public half becomes signer_key).
// `possession` is the added device's signature over possession_transcript (sign_possession).
v1::DeviceLink make_link(const ChainView& view, std::string_view handle, v1::DeviceLinkOp op,
                         std::string_view device_key, std::string_view mls_key, uint64_t time_ms,
                         std::string_view signer_secret, std::string_view possession);
std::string sign_possession(std::string_view handle, std::string_view device_key,
                            std::string_view mls_key, std::string_view device_secret);
bool verify_possession(std::string_view handle, std::string_view device_key,
                       std::string_view mls_key, std::string_view possession);

// Pairing: the new device sends commitment(its nonce), the approving device posts its own nonce,
// then the new device reveals its nonce; both show pairing_code(...) (six digits, "123 456").
std::string commitment(std::string_view device_nonce);
std::string pairing_code(std::string_view handle, std::string_view device_key,
                         std::string_view mls_key, std::string_view device_nonce,
                         std::string_view approver_nonce);

}  // namespace cercle::policy

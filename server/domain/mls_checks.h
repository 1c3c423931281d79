// What the relay reads in MLS handshake messages (RFC 9750 6.4): it never holds group secrets, so
// it cannot verify tags over group content, but it decodes every KeyPackage, commit, proposal and
// Welcome it relays with the MLS codec and extracts the facts it must keep its member list in step
// with: who adds or removes which leaf, with which KeyPackage, for whom a Welcome is, and which
// leaf a member puts in the tree (Update proposals, a commit's UpdatePath), whose own signature it
// verifies (a leaf's signature covers the group id and the leaf index, which the relay knows).
// Whether a leaf names the right account is handshake.h's business (it needs the relay's state).
// Pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/result.h"

namespace cercle::domain::mls_checks {

// A leaf node a member puts in the tree, whose own signature verified.
struct LeafFacts {
  std::string identity;                     // The BasicCredential identity.
  std::string signature_key;                // Ed25519.
  std::string encryption_key;               // HPKE public key.
  std::optional<std::string> account_type;  // The 0xF0A1 extension's data, if present.
};

// A KeyPackage whose own signature verified.
struct KeyPackageFacts {
  std::string ref;            // KeyPackageRef.
  std::string signature_key;  // The leaf's Ed25519 signature key.
  std::string identity;       // The BasicCredential identity (our clients: the account's handle).
  bool professional = false;  // The leaf's account-type extension says so.
  bool has_account_type = false;
  std::string encryption_key = {};  // The leaf's HPKE key.
  std::string init_key = {};
};

// Decodes and validates a KeyPackage (MLSMessage-wrapped or bare): suite 3, its signatures, the
// lifetime (with `skew_s` of tolerance) at `now_s`, a basic credential, capabilities that list the
// group rules extension 0xF0A0 (every group carries it: a member who does not support it could
// never see the rules change, and clients refuse to add it), and a report key extension 0xF0A2, if
// any, of 32 bytes. Errors: kInvalidArgument saying why.
[[nodiscard]] Result<KeyPackageFacts> key_package(std::string_view bytes, uint64_t now_s,
                                                  uint64_t skew_s);

enum class ProposalKind {
  kAdd,
  kUpdate,
  kRemove,
  kPreSharedKey,
  kReInit,
  kExternalInit,
  kGroupContextExtensions
};
// "Update", "PreSharedKey"... for messages.
std::string_view name_of(ProposalKind kind);

struct ProposalFacts {
  ProposalKind kind = ProposalKind::kAdd;
  std::optional<KeyPackageFacts> added;  // kAdd (its KeyPackage is checked as above)
  std::optional<LeafFacts> leaf;         // kUpdate (checked as leaf_node() with source update)
  uint32_t removed_leaf = 0;             // kRemove
  // kGroupContextExtensions: the types it sets, and the policy extension (0xF0A0) if set.
  std::vector<uint16_t> extension_types;
  std::optional<std::string> policy;
};

// A PublicMessage carrying a proposal or a commit from a member.
struct HandshakeFacts {
  std::string group_id;
  uint64_t epoch = 0;
  uint32_t sender_leaf = 0;
  bool is_commit = false;
  std::string proposal_ref;               // A proposal: its ProposalRef, for later commits.
  std::vector<ProposalFacts> by_value;    // A proposal: one; a commit: those carried by value.
  std::vector<std::string> by_reference;  // A commit: ProposalRefs.
  bool has_path = false;
  std::optional<LeafFacts> path_leaf;  // The UpdatePath's leaf (checked with source commit).
  std::vector<std::string> path_keys;  // The UpdatePath's parent node keys.
  std::string authenticated_data;
};

// Where a handshake message must come from.
struct Envelope {
  std::string_view group_id;
  uint64_t epoch = 0;
  uint32_t sender_leaf = 0;
};

// Decodes a handshake message; when `expected` is given, checks it against the message's group,
// epoch and sender as soon as it is decoded (before any signature: cheap checks first, and the
// most telling refusal). Errors: kInvalidArgument when it is not an MLS 1.0 PublicMessage carrying
// a proposal or commit from a member, is for another group or epoch, when an added KeyPackage
// fails key_package(), or a leaf it carries fails its checks (source, signature over the group id
// and leaf index, capabilities, extensions); kForbidden when it comes from another leaf, or for a
// leaf whose credential is not a basic credential. Which proposal types are allowed is decided by
// the caller (handshake.h).
[[nodiscard]] Result<HandshakeFacts> handshake(std::string_view bytes, uint64_t now_s,
                                               uint64_t skew_s, const Envelope* expected = nullptr);

// Checks an application message: an MLS 1.0 PrivateMessage of `group_id` at `epoch` whose
// (cleartext) content type is application. Handshake messages never travel as application
// messages: a client that processed one would apply a commit no rule checked. Errors:
// kInvalidArgument.
[[nodiscard]] Status application(std::string_view bytes, std::string_view group_id, uint64_t epoch);

// The KeyPackageRefs a Welcome is encrypted to. Errors: kInvalidArgument.
[[nodiscard]] Result<std::vector<std::string>> welcome_targets(std::string_view bytes);

}  // namespace cercle::domain::mls_checks

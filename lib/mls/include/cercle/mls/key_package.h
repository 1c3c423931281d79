// KeyPackages and LeafNode validation (RFC 9420 sections 7.3 and 10): creating a KeyPackage
// with its private keys (KeyPackageBundle), KeyPackageRef, and the checks a LeafNode must pass
// before it enters a group (signature, capabilities against the group's extensions and
// required_capabilities, credential types, lifetime, uniqueness of keys).
// Thread-safety: immutable values and pure functions; thread-compatible.
#pragma once

#include <optional>

#include "cercle/mls/crypto.h"
#include "cercle/mls/hpke.h"
#include "cercle/mls/messages.h"
#include "cercle/mls/tree.h"

namespace cercle::mls {

// Private-use extension type (RFC 9420 17.3, 0xF000-0xFFFF) that carries the group's roles as a
// GroupContext extension; our clients list it in their capabilities and groups require it.
inline constexpr uint16_t kRolesExtensionType = 0xF0A0;

// Private-use leaf node extension carrying the account type (1 byte: 1 peer, 2 professional), so
// that every member sees from the ratchet tree which members are professionals.
inline constexpr uint16_t kAccountTypeExtensionType = 0xF0A1;

struct KeyPackageOptions {
  uint64_t lifetime_seconds = 90ull * 24 * 3600;
  // Extra non-default extension types to advertise in the leaf capabilities.
  std::vector<uint16_t> extra_extension_types;
  // Extensions of the leaf node (their types are advertised in its capabilities too).
  std::vector<Extension> leaf_extensions;
};

// A KeyPackage and the private keys that go with it.
struct KeyPackageBundle {
  Bytes key_package;  // MLSMessage(KeyPackage) wire encoding: what is uploaded to the server
  HpkePrivateKey init_key;
  HpkePrivateKey encryption_key;
  SignaturePrivateKey signer;

  // Returns the decoded KeyPackage (kDecode if the stored bytes are corrupt).
  Result<KeyPackage> decoded() const;
  // Returns the KeyPackageRef.
  Result<Bytes> ref() const;
  // For the client's local storage (contains private keys: store encrypted).
  Bytes serialize() const;
  static Result<KeyPackageBundle> deserialize(BytesView data);
};

// The capabilities our leaves advertise: mls10, suite 3, basic credentials, the roles
// extension and `extra`.
Capabilities default_capabilities(const std::vector<uint16_t>& extra = {});

// Returns a fresh KeyPackage for `credential` signed by `signer`; never fails for valid input.
Result<KeyPackageBundle> create_key_package(const Credential& credential,
                                            const SignaturePrivateKey& signer,
                                            const KeyPackageOptions& options = {});

// KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage).
Bytes key_package_ref(const KeyPackage& kp);
// Parses a KeyPackage given either as MLSMessage(KeyPackage) or as a bare KeyPackage.
Result<KeyPackage> parse_key_package(BytesView data);

uint64_t now_seconds();

// Checks a KeyPackage by itself (RFC 9420 10.1): version and suite, leaf source, signatures,
// init_key distinct from encryption_key, lifetime against `now` (if given, widened by `skew`
// seconds on both ends), extensions in capabilities. kVerify on a bad signature, kInvalid
// otherwise.
Status validate_key_package(const KeyPackage& kp, std::optional<uint64_t> now, uint64_t skew = 0);
// Checks a LeafNode by itself: signature (with group_id / leaf_index for update and commit
// sources), expected source, own extensions and credential listed in its capabilities.
Status validate_leaf_node(const LeafNode& leaf, LeafNodeSource expected, BytesView group_id,
                          uint32_t leaf_index);
// Checks that `leaf` may sit in `tree` (at `leaf_index`, replacing what is there): supports
// the group's extensions and required_capabilities, credential types are mutually supported,
// and its signature and encryption keys are not used by any other node.
Status check_leaf_fits_group(const LeafNode& leaf, uint32_t leaf_index, const RatchetTree& tree,
                             const std::vector<Extension>& group_extensions);
// Checks that every member of `tree` supports `group_extensions` (GroupContextExtensions).
Status check_members_support(const RatchetTree& tree,
                             const std::vector<Extension>& group_extensions);

}  // namespace cercle::mls

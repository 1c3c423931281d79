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

// The library defines no extension of its own: an application's extensions (private-use types,
// RFC 9420 17.3) are given by the caller, as the extension types its leaves support
// (KeyPackageOptions, CreateOptions) and the extensions it puts in leaves and group contexts.
struct KeyPackageOptions {
  uint64_t lifetime_seconds = 90ull * 24 * 3600;
  // Non-default extension types the application supports, advertised in the leaf capabilities
  // (a group whose context carries one only takes leaves that list it).
  std::vector<uint16_t> extension_types;
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

// The capabilities a leaf of this library advertises: mls10, suite 3, basic credentials, and the
// non-default `extension_types` the application supports (none of the library's own).
Capabilities default_capabilities(const std::vector<uint16_t>& extension_types = {});

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

// The MLS extensions Cercle adds to RFC 9420 (private-use types, RFC 9420 17.3: 0xF000-0xFFFF).
// The MLS library (lib/mls) defines none of its own: the relay's checks, the SDK and the test
// members give it these, as the extension types their leaves support and as the extensions they
// put in leaves and group contexts. Constants only; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cercle::policy {

// GroupContext extension carrying the group's rules (an encoded v1::GroupPolicy, policy.h). Every
// group carries it, so every leaf lists it in its capabilities (a member who did not support it
// could not follow a change of the rules).
inline constexpr uint16_t kRolesExtensionType = 0xF0A0;

// Leaf node extension carrying the account type (kind_extension: 1 byte, 1 peer, 2 professional),
// so that every member sees from the ratchet tree which members are professionals.
inline constexpr uint16_t kAccountTypeExtensionType = 0xF0A1;

// Leaf node extension carrying the device's report key: exactly 32 bytes, an X25519 public key the
// device made for opening the reports members seal to it (one per device, for all its groups; the
// private key never leaves the device). A browser's Ed25519 leaf key is a non-extractable WebCrypto
// key, so it cannot be converted to open a sealed box as the SDK's can; a leaf without this
// extension gets reports sealed to the X25519 form of its Ed25519 signature key instead. The relay
// refuses one of another size (server/domain/mls_checks.cpp).
inline constexpr uint16_t kReportKeyExtensionType = 0xF0A2;
inline constexpr size_t kReportKeyBytes = 32;

// The extension types a Cercle leaf lists in its capabilities besides those of its own leaf
// extensions (which lib/mls lists by itself): what the SDK and the test members give as
// mls::KeyPackageOptions::extension_types and mls::CreateOptions::extension_types.
inline std::vector<uint16_t> leaf_extension_types() { return {kRolesExtensionType}; }

}  // namespace cercle::policy

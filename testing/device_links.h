// Device links made the way an honest client makes them (lib/policy/include/cercle/policy/device_chain.h), for
// fixtures and tools that register accounts or add devices: the relay refuses both without the
// account chain's next link. Keys are raw libsodium Ed25519 keys (32-byte public, 64-byte secret).
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cercle/policy/device_chain.h"

namespace cercle::testing {

inline constexpr uint64_t kLinkTime = 1'790'000'000'000;

inline std::string secret_bytes(const unsigned char* sk, size_t size = 64) {
  return std::string(reinterpret_cast<const char*>(sk), size);
}

// The ADD of `device_key` (its secret: `device_secret`; its MLS key: `mls_key`, else the device
// key itself) after `view` of `handle`'s chain, signed by `signer_secret`.
inline v1::DeviceLink device_add_link(const policy::ChainView& view, std::string_view handle,
                                      std::string_view signer_secret, std::string_view device_key,
                                      std::string_view device_secret,
                                      std::string_view mls_key = {}) {
  if (mls_key.empty()) mls_key = device_key;
  return policy::make_link(view, handle, v1::DEVICE_ADD, device_key, mls_key, kLinkTime,
                           signer_secret,
                           policy::sign_possession(handle, device_key, mls_key, device_secret));
}

// Link 0 of a new account `handle` (as the relay stores it): the device adds itself.
inline v1::DeviceLink device_first_link(std::string_view handle, std::string_view device_key,
                                        std::string_view device_secret) {
  return device_add_link({}, handle, device_secret, device_key, device_secret);
}

}  // namespace cercle::testing

// RelayDeviceChainTest: a relay fixture for tests of accounts' signed device chains
// (lib/policy/include/cercle/policy/device_chain.h) and of pairing new devices: links made and
// signed like an honest client makes them, Register/AddDevice/RequestDevice frames with them, and
// reading an account's chain back. Helpers that can fail use ASSERT/EXPECT: call them inside
// ASSERT_NO_FATAL_FAILURE(...).
#pragma once

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cercle/policy/device_chain.h"
#include "testing/device_links.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {

inline constexpr uint64_t kTime = kLinkTime;

inline std::string secret(const DeviceKey& k) { return secret_bytes(k.sk, sizeof k.sk); }

inline std::string random_nonce() {
  std::string n(policy::kNonceBytes, '\0');
  randombytes_buf(n.data(), n.size());
  return n;
}

// The ADD of `device` (MLS key: `mls`, else its own key) after `view`, signed by `signer`.
inline v1::DeviceLink add_link(const policy::ChainView& view, const std::string& handle,
                               const DeviceKey& signer, const DeviceKey& device,
                               const DeviceKey* mls = nullptr) {
  return device_add_link(view, handle, secret(signer), device.public_key(), secret(device),
                         (mls ? *mls : device).public_key());
}

inline v1::DeviceLink first_link(const std::string& handle, const DeviceKey& device,
                                 const DeviceKey* mls = nullptr) {
  return add_link({}, handle, device, device, mls);
}

inline std::vector<v1::DeviceLink> links_of(const v1::AccountInfo& info) {
  return {info.chain().begin(), info.chain().end()};
}

// The chain verifies, and its current devices are exactly the account's.
inline void expect_chain_matches_devices(const v1::AccountInfo& info) {
  const auto links = links_of(info);
  const auto check = policy::verify_chain(info.handle(), links);
  ASSERT_TRUE(check.ok()) << check.error().message;
  std::set<std::string> in_chain, devices;
  for (const auto& d : check->devices) in_chain.insert(d.device_key);
  for (const auto& d : info.devices()) devices.insert(d.public_key());
  EXPECT_EQ(in_chain, devices);
  EXPECT_EQ(in_chain.size(), static_cast<size_t>(info.devices_size()));
}

class RelayDeviceChainTest : public RelayFixture {
 protected:
  void start(const std::string& limits = {}) {
    std::vector<std::string> args;
    if (!limits.empty()) args = {"--config", write_config("[limits]\n" + limits)};
    ASSERT_NO_FATAL_FAILURE(start_server(args));
  }

  // Hello, then Register with `link` (none when nullopt) on a new connection kept in `ws`.
  std::optional<v1::Response> register_with(std::unique_ptr<WsClient>& ws, const DeviceKey& key,
                                            const std::string& handle,
                                            const std::optional<v1::DeviceLink>& link) {
    ws = connect();
    if (!ws || !ws->hello()) return std::nullopt;
    v1::ClientFrame f;
    auto* reg = f.mutable_register_();
    reg->set_handle(handle);
    reg->set_device_public_key(key.public_key());
    reg->set_signature(key.sign(ws->transcript()));
    if (link) *reg->mutable_link() = *link;
    return ws->call(f);
  }

  // Registers `handle` with its link 0; the device's MLS side signs with `mls` when given.
  void register_chained(const std::string& handle, TestDevice* d, const DeviceKey* mls = nullptr) {
    auto r = register_with(d->ws, d->key, handle, first_link(handle, d->key, mls));
    ASSERT_TRUE(r && r->has_auth()) << (r ? r->error().message() : "timeout");
    if (mls) d->mls = std::make_unique<MlsMember>(handle, mls->sk);
    authenticated(d, r->auth());
  }

  static std::optional<v1::Response> lookup(TestDevice& asker, const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_lookup_account()->set_handle(handle);
    return asker.ws->call(f);
  }

  // The account's chain as the relay serves it, and what it says.
  static policy::ChainView chain_view(TestDevice& asker, const std::string& handle) {
    auto r = lookup(asker, handle);
    EXPECT_TRUE(r && r->has_account()) << (r ? r->error().message() : "timeout");
    if (!r || !r->has_account()) return {};
    auto check = policy::verify_chain(handle, links_of(r->account()));
    EXPECT_TRUE(check.ok());
    return check.ok() ? *check : policy::ChainView{};
  }

  static std::optional<v1::Response> add_with(TestDevice& owner, const DeviceKey& key,
                                              const std::optional<v1::DeviceLink>& link) {
    v1::ClientFrame f;
    f.mutable_add_device()->set_device_public_key(key.public_key());
    if (link) *f.mutable_add_device()->mutable_link() = *link;
    return owner.ws->call(f);
  }

  static v1::ClientFrame request_frame(const std::string& handle, const DeviceKey& key,
                                       const std::string& nonce) {
    v1::ClientFrame f;
    auto* r = f.mutable_request_device();
    r->set_handle(handle);
    r->set_device_public_key(key.public_key());
    r->set_mls_key(key.public_key());
    r->set_possession(
        policy::sign_possession(handle, key.public_key(), key.public_key(), secret(key)));
    r->set_commitment(policy::commitment(nonce));
    return f;
  }

  static v1::ClientFrame nonce_frame(const std::string& request_id, const std::string& nonce) {
    v1::ClientFrame f;
    f.mutable_post_pairing_nonce()->set_request_id(request_id);
    f.mutable_post_pairing_nonce()->set_nonce(nonce);
    return f;
  }

  static v1::ClientFrame get_frame(const std::string& request_id) {
    v1::ClientFrame f;
    f.mutable_get_device_request()->set_request_id(request_id);
    return f;
  }

  static v1::ClientFrame list_frame() {
    v1::ClientFrame f;
    f.mutable_list_device_requests();
    return f;
  }

  // A new connection that said hello, for a device that is not registered.
  std::unique_ptr<WsClient> anonymous() {
    auto ws = connect();
    EXPECT_TRUE(ws && ws->hello());
    return ws;
  }

  // A new device asks to join `handle`; returns its request id.
  std::string request_device(WsClient& ws, const std::string& handle, const DeviceKey& key,
                             const std::string& nonce) {
    auto r = ws.call(request_frame(handle, key, nonce));
    EXPECT_TRUE(r && r->has_device_request()) << (r ? r->error().message() : "timeout");
    return r && r->has_device_request() ? r->device_request().request_id() : std::string();
  }
};

}  // namespace cercle::testing

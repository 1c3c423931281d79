// Client: approving a new device (docs/SECURITY.md, "Device approval"). The new device asks the
// relay to join an account and commits to a nonce; a device of the account posts its own nonce;
// the new device reveals its nonce and shows a six-digit code over both nonces and its key; the
// person types that code on the old device, which signs the new device's link in the account's
// device chain only if the code is the one it computed. The old device keeps its nonce locally:
// a relay that could change it after seeing the new device's nonce could choose the code.
#include <sodium.h>

#include <thread>

#include "client/sdk/client_internal.h"
#include "client/sdk/client_verify.h"

namespace cercle::client {

struct Client::Impl::NewDevice {
  std::string handle;      // NFC: what its possession proof and the code are computed over.
  std::string secret_key;  // libsodium Ed25519 (seed || public key).
  std::string nonce;       // The nonce it committed to.
  std::string request_id;
  ~NewDevice() { sodium_memzero(secret_key.data(), secret_key.size()); }
  std::string public_key() const { return secret_key.substr(32, 32); }
};

namespace {

constexpr std::string_view kPairingPrefix = "pairing/";
constexpr auto kPollEvery = std::chrono::milliseconds(200);

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string digits_of(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

// Reads the request until `ready` holds, for at most `wait`. Errors: kNetwork (`late` says what
// did not happen in time), kServer.
template <class Ready>
Result<v1::DeviceRequestInfo> wait_request(Connection& conn, const std::string& request_id,
                                           std::chrono::milliseconds wait, Ready ready,
                                           std::string_view late) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    v1::ClientFrame f;
    f.mutable_get_device_request()->set_request_id(request_id);
    auto r = conn.call(f);
    if (!r) return std::move(r).error();
    if (ready(r->device_request())) return r->device_request();
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(Errc::kNetwork, std::string(late));
    }
    std::this_thread::sleep_for(kPollEvery);  // Deliveries wait in the connection's queue.
  }
}

}  // namespace

Result<std::string> Client::request_device(std::string_view handle) {
  auto& impl = *impl_;
  if (!impl.conn || !impl.conn->is_open()) return make_error(Errc::kNetwork, "connect first");
  if (registered()) return make_error(Errc::kInvalidArgument, "this device already has an account");
  auto device = std::make_shared<Impl::NewDevice>();
  device->handle = nfc(handle);
  device->secret_key.assign(crypto_sign_SECRETKEYBYTES, '\0');
  std::string pk(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                      reinterpret_cast<unsigned char*>(device->secret_key.data()));
  device->nonce = random_bytes(policy::kNonceBytes);
  v1::ClientFrame f;
  auto* req = f.mutable_request_device();
  req->set_handle(device->handle);
  req->set_device_public_key(pk);
  req->set_mls_key(pk);  // Its key signs its MLS leaves too.
  req->set_possession(policy::sign_possession(device->handle, pk, pk, device->secret_key));
  req->set_commitment(policy::commitment(device->nonce));
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  device->request_id = r->device_request().request_id();
  impl.new_device = std::move(device);
  return to_hex(impl.new_device->request_id);
}

Result<std::string> Client::pairing_code(std::chrono::milliseconds wait) {
  auto& impl = *impl_;
  if (!impl.new_device) return make_error(Errc::kInvalidArgument, "request_device first");
  if (!impl.conn || !impl.conn->is_open()) return make_error(Errc::kNetwork, "not connected");
  const auto device = impl.new_device;
  auto info = wait_request(
      *impl.conn, device->request_id, wait,
      [](const v1::DeviceRequestInfo& i) { return !i.approver_nonce().empty(); },
      "no device of the account started the approval in time");
  if (!info) return std::move(info).error();
  v1::ClientFrame f;
  f.mutable_post_pairing_nonce()->set_request_id(device->request_id);
  f.mutable_post_pairing_nonce()->set_nonce(device->nonce);
  if (auto r = impl.conn->call(f); !r) return std::move(r).error();
  const std::string pk = device->public_key();
  return policy::pairing_code(device->handle, pk, pk, device->nonce, info->approver_nonce());
}

Status Client::await_approval(std::chrono::milliseconds wait) {
  auto& impl = *impl_;
  if (!impl.new_device) return make_error(Errc::kInvalidArgument, "request_device first");
  if (!impl.conn || !impl.conn->is_open()) return make_error(Errc::kNetwork, "not connected");
  const auto device = impl.new_device;
  auto info = wait_request(
      *impl.conn, device->request_id, wait,
      [](const v1::DeviceRequestInfo& i) { return i.device_id() != 0; },
      "the new device was not approved in time");
  if (!info) return std::move(info).error();
  impl.identity.emplace();
  impl.identity->set_device_secret_key(device->secret_key);
  impl.identity->set_report_secret_key(new_report_secret_key());
  impl.identity->set_handle(device->handle);
  impl.identity->set_device_id(info->device_id());
  impl.identity->set_instance_id(impl.conn->hello().instance_id());
  // A fresh connection signs in with a fresh challenge; authenticate() learns the account.
  disconnect();
  if (auto s = connect(); !s) {
    impl.identity.reset();  // Still a request: await_approval may be called again.
    return s;
  }
  impl.new_device.reset();
  auto chain = impl.lookup_chain(impl.identity->handle());
  if (!chain) return std::move(chain).error();
  if (!chain->empty() && !chain->find(device->public_key())) {
    return make_error(Errc::kRefused, "the account's device chain does not list this device");
  }
  return Ok{};
}

Result<std::vector<DeviceRequest>> Client::device_requests() {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  v1::ClientFrame f;
  f.mutable_list_device_requests();
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  std::vector<DeviceRequest> out;
  for (const auto& i : r->device_requests().requests()) {
    out.push_back({to_hex(i.request_id()), device_fingerprint(i.mls_key()),
                   static_cast<int64_t>(i.created_ms()), !i.approver_nonce().empty()});
  }
  return out;
}

Status Client::start_approval(const std::string& request_id) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto id = from_hex(request_id);
  if (!id) return std::move(id).error();
  local::PairingStart start;
  start.set_request_id(*id);
  start.set_approver_nonce(random_bytes(policy::kNonceBytes));
  // Kept before it is posted: the code is checked against this copy, never the relay's.
  const std::string name = std::string(kPairingPrefix) + request_id;
  if (auto s = impl.store->put(name, start.SerializeAsString()); !s) return s;
  v1::ClientFrame f;
  f.mutable_post_pairing_nonce()->set_request_id(*id);
  f.mutable_post_pairing_nonce()->set_nonce(start.approver_nonce());
  if (auto r = impl.conn->call(f); !r) return std::move(r).error();
  return Ok{};
}

Status Client::approve_device(const std::string& request_id, std::string_view code,
                              std::chrono::milliseconds wait) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto id = from_hex(request_id);
  if (!id) return std::move(id).error();
  const std::string name = std::string(kPairingPrefix) + request_id;
  auto stored = impl.store->get(name);
  if (!stored) return std::move(stored).error();
  local::PairingStart start;
  if (!*stored || !start.ParseFromString(**stored) || start.request_id() != *id) {
    return make_error(Errc::kInvalidArgument, "start the approval on this device first");
  }
  auto info = wait_request(
      *impl.conn, *id, wait,
      [](const v1::DeviceRequestInfo& i) { return !i.device_nonce().empty(); },
      "the new device has not shown its code yet");
  if (!info) return std::move(info).error();
  const std::string& handle = impl.identity->handle();
  if (policy::commitment(info->device_nonce()) != info->commitment() ||
      !policy::verify_possession(handle, info->device_public_key(), info->mls_key(),
                                 info->possession())) {
    return make_error(Errc::kRefused,
                      "the new device's request does not hold together: it was not approved");
  }
  const std::string expected =
      policy::pairing_code(handle, info->device_public_key(), info->mls_key(), info->device_nonce(),
                           start.approver_nonce());
  if (digits_of(code) != digits_of(expected)) {
    return make_error(Errc::kRefused,
                      "this is not the code the new device shows: it was not approved");
  }
  if (auto s = impl.add_approved_device(*info); !s) return s;
  (void)impl.store->remove(name);
  return Ok{};
}

// Sends AddDevice with the new device's link, made on the account's chain as read now; when the
// chain moved on meanwhile (CHAIN_CONFLICT), reads it again and signs anew, once.
Status Client::Impl::add_approved_device(const v1::DeviceRequestInfo& info) {
  const std::string& handle = identity->handle();
  for (int attempt = 0;; ++attempt) {
    auto chain = lookup_chain(handle);
    if (!chain) return std::move(chain).error();
    v1::ClientFrame f;
    auto* add = f.mutable_add_device();
    add->set_device_public_key(info.device_public_key());
    if (!chain->empty()) {  // A relay that keeps no chains yet takes the key alone.
      *add->mutable_link() = policy::make_link(*chain, handle, v1::DEVICE_ADD,
                                               info.device_public_key(), info.mls_key(), now_ms(),
                                               identity->device_secret_key(), info.possession());
    }
    auto r = conn->call(f);
    if (r) {
      (void)lookup_chain(handle);  // The pin follows the longer chain.
      return Ok{};
    }
    if (r.error().server_code != v1::CHAIN_CONFLICT || attempt > 0) return std::move(r).error();
  }
}

Result<std::vector<AccountDevice>> Client::account_devices() {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  auto chain = impl.lookup_chain(impl.identity->handle());
  if (!chain) return std::move(chain).error();
  const std::string own = impl.identity->device_secret_key().substr(32, 32);
  std::vector<AccountDevice> out;
  for (const auto& d : chain->devices) {
    out.push_back({device_fingerprint(d.mls_key), d.added_seq, d.device_key == own});
  }
  return out;
}

}  // namespace cercle::client

#include "server/domain/device_requests.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "cercle/policy/device_chain.h"
#include "server/domain/handle.h"

namespace cercle::domain {

namespace {

constexpr size_t kRequestIdBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr size_t kCommitmentBytes = 32;

Error not_found() { return make_error(Errc::kNotFound, "no such device request"); }

std::string random_id() {
  std::string id(kRequestIdBytes, '\0');
  randombytes_buf(id.data(), id.size());
  return id;
}

}  // namespace

void DeviceRequests::expire() {
  const int64_t now = clock_.now_ms();
  // Every request lives as long: the oldest expires first.
  while (!by_age_.empty() && by_age_.front().first + config_.device_request_ttl_ms <= now) {
    auto it = requests_.find(by_age_.front().second);
    if (it != requests_.end()) {
      auto acc = by_account_.find(it->second.account);
      if (acc != by_account_.end()) {
        std::erase(acc->second, it->first);
        if (acc->second.empty()) by_account_.erase(acc);
      }
      requests_.erase(it);
    }
    by_age_.pop_front();
  }
}

void DeviceRequests::forget_account(AccountId account) {
  auto acc = by_account_.find(account);
  if (acc == by_account_.end()) return;
  // Their by_age_ entries stay until they expire, and then find nothing.
  for (const auto& id : acc->second) requests_.erase(id);
  by_account_.erase(acc);
}

bool DeviceRequests::is_device_of(DeviceId actor, AccountId account) const {
  const DeviceState* device = actor ? accounts_.device(actor) : nullptr;
  return device && device->account == account;
}

DeviceRequests::Pending* DeviceRequests::visible(std::string_view request_id, DeviceId actor,
                                                 uint64_t requester) {
  expire();
  auto it = requests_.find(std::string(request_id));
  if (it == requests_.end()) return nullptr;
  Pending& p = it->second;
  if ((requester != 0 && p.requester == requester) || is_device_of(actor, p.account)) return &p;
  return nullptr;
}

Result<DeviceRequestView> DeviceRequests::request(const NewRequest& r, uint64_t requester) {
  expire();
  if (r.device_key.size() != kKeyBytes || r.mls_key.size() != kKeyBytes) {
    return make_error(Errc::kInvalidArgument, "device_public_key and mls_key must be 32 bytes");
  }
  if (r.commitment.size() != kCommitmentBytes) {
    return make_error(Errc::kInvalidArgument, "commitment must be 32 bytes");
  }
  auto handle = normalize_handle(r.handle);
  if (!handle) return std::move(handle).error();
  const AccountState* account = accounts_.account_by_key(handle->key);
  if (!account) return make_error(Errc::kNotFound, "no account has this handle");
  // The proof names the handle as stored, as the chain's links do.
  if (!policy::verify_possession(account->handle, r.device_key, r.mls_key, r.possession)) {
    return make_error(Errc::kForbidden, "the possession proof does not verify");
  }
  PublicKey key;
  std::memcpy(key.data(), r.device_key.data(), key.size());
  if (accounts_.device_key_taken(key) || mls_key_taken_(r.mls_key)) {
    return make_error(Errc::kDeviceKeyTaken, "this key is already a device's");
  }
  auto& ids = by_account_[account->id];
  if (ids.size() >= config_.max_device_requests_per_account ||
      requests_.size() >= config_.max_device_requests) {
    if (ids.empty()) by_account_.erase(account->id);
    return make_error(Errc::kLimitReached, "too many pending device requests: try again later");
  }
  Pending p;
  p.view.request_id = random_id();
  while (requests_.contains(p.view.request_id)) p.view.request_id = random_id();
  p.view.handle = account->handle;
  p.view.device_key = r.device_key;
  p.view.mls_key = r.mls_key;
  p.view.possession = r.possession;
  p.view.commitment = r.commitment;
  p.view.created_ms = clock_.now_ms();
  p.account = account->id;
  p.requester = requester;
  ids.push_back(p.view.request_id);
  by_age_.emplace_back(p.view.created_ms, p.view.request_id);
  DeviceRequestView view = p.view;
  requests_.emplace(view.request_id, std::move(p));
  return view;
}

std::vector<DeviceRequestView> DeviceRequests::list(DeviceId actor) {
  expire();
  std::vector<DeviceRequestView> out;
  const DeviceState* device = accounts_.device(actor);
  if (!device) return out;
  auto acc = by_account_.find(device->account);
  if (acc == by_account_.end()) return out;
  for (const auto& id : acc->second) out.push_back(requests_.at(id).view);
  return out;
}

Result<DeviceRequestView> DeviceRequests::post_nonce(std::string_view request_id,
                                                     std::string_view nonce, DeviceId actor,
                                                     uint64_t requester) {
  Pending* p = visible(request_id, actor, requester);
  if (!p) return not_found();
  if (nonce.size() != policy::kNonceBytes) {
    return make_error(Errc::kInvalidArgument, "a pairing nonce is 32 bytes");
  }
  DeviceRequestView& v = p->view;
  if (requester != 0 && p->requester == requester) {
    if (v.approver_nonce.empty()) {
      return make_error(Errc::kInvalidArgument, "wait for the approving device's nonce");
    }
    if (!v.device_nonce.empty()) {
      return make_error(Errc::kInvalidArgument, "the new device's nonce was already revealed");
    }
    if (policy::commitment(nonce) != v.commitment) {
      return make_error(Errc::kForbidden, "the nonce does not match the request's commitment");
    }
    v.device_nonce = nonce;
    return v;
  }
  if (!v.approver_nonce.empty()) {
    return make_error(Errc::kInvalidArgument, "the approving device's nonce was already posted");
  }
  v.approver_nonce = nonce;
  return v;
}

Result<DeviceRequestView> DeviceRequests::get(std::string_view request_id, DeviceId actor,
                                              uint64_t requester) {
  Pending* p = visible(request_id, actor, requester);
  if (!p) return not_found();
  return p->view;
}

void DeviceRequests::approved(const PublicKey& key, DeviceId device) {
  const DeviceState* d = accounts_.device(device);
  auto acc = d ? by_account_.find(d->account) : by_account_.end();
  if (acc == by_account_.end()) return;
  const std::string raw(reinterpret_cast<const char*>(key.data()), key.size());
  for (const auto& id : acc->second) {
    auto& view = requests_.at(id).view;
    if (view.device_key == raw) view.device_id = device;
  }
}

}  // namespace cercle::domain

#include "server/domain/accounts.h"

#include <sodium.h>

#include <algorithm>

namespace cercle::domain {

namespace {

uint64_t random_nonzero_u64() {
  uint64_t v = 0;
  while (v == 0) randombytes_buf(&v, sizeof v);
  return v;
}

}  // namespace

const AccountState* Accounts::account(AccountId id) const {
  auto it = accounts_.find(id);
  return it == accounts_.end() ? nullptr : &it->second;
}

const AccountState* Accounts::account_by_key(const std::string& handle_key) const {
  auto it = handle_keys_.find(handle_key);
  return it == handle_keys_.end() ? nullptr : account(it->second);
}

const DeviceState* Accounts::device(DeviceId id) const {
  auto it = devices_.find(id);
  return it == devices_.end() ? nullptr : &it->second;
}

const DeviceState* Accounts::device_by_key(const PublicKey& key) const {
  auto it = device_keys_.find(key);
  return it == device_keys_.end() ? nullptr : device(it->second);
}

const AccountState* Accounts::account_of(DeviceId id) const {
  const DeviceState* d = device(id);
  return d ? account(d->account) : nullptr;
}

AccountId Accounts::new_account_id() const {
  for (;;) {
    const AccountId id = random_nonzero_u64();
    if (!accounts_.contains(id)) return id;
  }
}

DeviceId Accounts::new_device_id() const {
  for (;;) {
    const DeviceId id = random_nonzero_u64();
    if (!devices_.contains(id)) return id;
  }
}

void Accounts::add_account(AccountState account, const std::string& handle_key) {
  handle_keys_[handle_key] = account.id;
  const AccountId id = account.id;
  accounts_.insert_or_assign(id, std::move(account));
}

void Accounts::put_account(AccountState account) {
  const AccountId id = account.id;
  accounts_.insert_or_assign(id, std::move(account));
}

void Accounts::add_device(DeviceState device) {
  auto& list = accounts_.at(device.account).devices;
  if (std::find(list.begin(), list.end(), device.id) == list.end()) list.push_back(device.id);
  device_keys_[device.public_key] = device.id;
  const DeviceId id = device.id;
  devices_.emplace(id, std::move(device));
}

std::string Accounts::deleted_handle_hash(const std::string& handle_key) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<uint8_t*>(out.data()),
                     reinterpret_cast<const uint8_t*>(handle_key.data()), handle_key.size());
  return out;
}

void Accounts::mark_deleted(AccountState account, const std::string& handle_key) {
  auto it = handle_keys_.find(handle_key);
  if (it != handle_keys_.end() && it->second == account.id) handle_keys_.erase(it);
  deleted_handles_.insert(deleted_handle_hash(handle_key));
  put_account(std::move(account));
}

void Accounts::remove_account(AccountId id) {
  auto it = accounts_.find(id);
  if (it == accounts_.end()) return;
  for (DeviceId d : it->second.devices) {
    auto device = devices_.find(d);
    if (device == devices_.end()) continue;
    auto key = device_keys_.find(device->second.public_key);
    if (key != device_keys_.end() && key->second == d) device_keys_.erase(key);
    devices_.erase(device);
  }
  accounts_.erase(it);
}

}  // namespace cercle::domain

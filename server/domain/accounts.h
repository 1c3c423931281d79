// Accounts: Identity's table of accounts and devices in memory, with their indexes by handle key
// and by device key. Identity owns it (identity.h) and alone changes it, through the updates it
// stages in a Change (change.h); the other services read it through Identity's const accessors,
// DeviceRequests through a const reference. Lives on the domain's thread; not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cercle/policy/device_chain.h"
#include "server/common/ids.h"
#include "server/domain/types.h"

namespace cercle::domain {

struct PublicKeyHash {
  size_t operator()(const PublicKey& k) const {
    size_t h;
    std::memcpy(&h, k.data(), sizeof h);  // Public keys are uniformly distributed.
    return h;
  }
};

struct AccountState {
  AccountId id = 0;
  std::string handle;
  AccountType type = AccountType::kPeer;
  bool admin = false;
  bool suspended = false;
  int64_t created_ms = 0;
  std::vector<DeviceId> devices;
  // The account's device chain (encoded cercle.v1.DeviceLink, from seq 0) and what it says. Every
  // account registers with one; both are empty only for an account stored before chains existed
  // (it cannot add devices). A new link is checked against `chain_view`.
  std::vector<std::string> chain = {};
  policy::ChainView chain_view = {};
  // Set once the account is deleted: it cannot sign in or be found, and its handle is never given
  // again; its devices stay known while they are members of conversations (account_deletion.cpp).
  int64_t deleted_ms = 0;
};

// A device as Identity knows it. Its key packages and MLS key are KeyPackages', the conversations
// it is in Conversations'.
struct DeviceState {
  DeviceId id = 0;
  AccountId account = 0;
  PublicKey public_key{};
  int64_t created_ms = 0;
};

class Accounts {
 public:
  using AccountMap = std::unordered_map<AccountId, AccountState>;
  using DeviceMap = std::unordered_map<DeviceId, DeviceState>;

  const AccountState* account(AccountId id) const;
  // The account whose handle has this key (handle.h), or null.
  const AccountState* account_by_key(const std::string& handle_key) const;
  const DeviceState* device(DeviceId id) const;
  const DeviceState* device_by_key(const PublicKey& key) const;
  // The account of a device, or null.
  const AccountState* account_of(DeviceId device) const;
  // Whether a live or a deleted account has (or had) this handle key.
  bool handle_taken(const std::string& handle_key) const {
    return handle_keys_.contains(handle_key) ||
           deleted_handles_.contains(deleted_handle_hash(handle_key));
  }
  // What is kept of a deleted account's handle: SHA-256 of its key, so that no name is kept.
  static std::string deleted_handle_hash(const std::string& handle_key);
  bool device_key_taken(const PublicKey& key) const { return device_keys_.contains(key); }
  const AccountMap& accounts() const { return accounts_; }
  const DeviceMap& devices() const { return devices_; }

  // Fresh random ids, unused in this table.
  AccountId new_account_id() const;
  DeviceId new_device_id() const;

  // Changes, applied by Identity when its Change commits (and by tests that build a table by
  // hand). A new account, known by its handle's key:
  void add_account(AccountState account, const std::string& handle_key);
  // An account already known, updated (its handle does not change).
  void put_account(AccountState account);
  // A new device, whose account exists; it joins the account's device list if not there yet.
  void add_device(DeviceState device);
  // The account (with deleted_ms set) is deleted: no longer found by its handle, which stays
  // taken.
  void mark_deleted(AccountState account, const std::string& handle_key);
  // A deleted account's last trace in memory goes, with its devices; its handle stays taken.
  void remove_account(AccountId id);
  // A handle deleted earlier (its hash, deleted_handle_hash).
  void add_deleted_handle(std::string hash) { deleted_handles_.insert(std::move(hash)); }

 private:
  AccountMap accounts_;
  std::unordered_map<std::string, AccountId> handle_keys_;  // Handle key -> account.
  DeviceMap devices_;
  std::unordered_map<PublicKey, DeviceId, PublicKeyHash> device_keys_;
  std::unordered_set<std::string> deleted_handles_;  // deleted_handle_hash of each.
};

}  // namespace cercle::domain

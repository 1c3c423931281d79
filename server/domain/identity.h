// Identity: accounts, devices, device authentication and the instance admin's registration codes.
// Owns the accounts and devices (accounts.h: in memory, with their records and loading), changed
// only through a Change; other services read them through the const accessors below.
//
// An account is a pseudonymous handle (see handle.h) with one or more devices; a device is an
// Ed25519 public key that proves itself by signing the connection's challenge transcript. The
// account's device list is also a signed chain (lib/policy/include/cercle/policy/device_chain.h):
// Register starts it with link 0, AddDevice appends a link signed by the adding device, and the
// relay checks every link (policy::append) before storing it, with compare-and-set on its seq.
// Lives on the domain's thread; not thread-safe. Completion callbacks run on that thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "server/domain/accounts.h"
#include "server/domain/context.h"
#include "server/domain/registration_codes.h"

namespace cercle::domain {

class ContactLinks;
class DeviceRequests;
class KeyPackages;

// The wire error for a refused device link: kMalformed kInvalidArgument, kBadSignature and
// kNotApproved kForbidden, kBrokenLink kChainConflict, kDuplicate kDeviceKeyTaken, kTooLong
// kLimitReached (the others only concern clients' pins: kInvalidArgument).
Error chain_error(const policy::ChainRefusal& refusal);

class Identity {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  explicit Identity(Context ctx) : ctx_(ctx), codes_(ctx.store) {}

  // Reads the accounts, their devices and the registration codes; call once at start-up, first.
  // Errors: kInternal (a read failed, or a record is damaged: a bad handle, a device chain that
  // does not verify, a device of no account or with a bad key).
  [[nodiscard]] Status load();

  // What the other services read of accounts and devices (null when unknown).
  const Accounts& accounts() const { return accounts_; }
  const AccountState* account(AccountId id) const { return accounts_.account(id); }
  const DeviceState* device(DeviceId id) const { return accounts_.device(id); }
  // The account of a device.
  const AccountState* account_of(DeviceId device) const { return accounts_.account_of(device); }
  // The account whose handle has this key (handle.h).
  const AccountState* account_by_key(const std::string& handle_key) const {
    return accounts_.account_by_key(handle_key);
  }
  // Registration codes unused and unexpired now, for the instance admin's counts.
  size_t registration_codes_unused() const { return codes_.unused_count(ctx_.clock.now_ms()); }

  // What allows a registration: a registration code, or a contact link's token (either may be
  // empty).
  struct Admission {
    std::string_view code;
    std::string_view contact_token;
  };

  // Creates an account with its first device, once `signature` over `transcript` verifies with
  // `public_key`, starting the account's device chain with `link`: link 0 must add this very key,
  // signed by it, under the handle as stored (NFC); its mls_key becomes the device's MLS signature
  // key. Every account has a chain, so that no one (the relay included) can give it a device its
  // owner never approved. `done` runs once the account is durable. Errors: kInvalidHandle,
  // kHandleTaken, kInvalidArgument (key size; no link, or one that is not this key's link 0),
  // kDeviceKeyTaken (the device key, or the MLS key is another device's), kAuthFailed, kForbidden
  // (bad link signature or possession proof), kRegistrationCodeRequired, kRegistrationCodeInvalid,
  // kRateLimited (too many registrations through one contact link).
  void register_account(std::string_view handle, std::string_view public_key,
                        std::string_view signature, std::string_view transcript,
                        Admission admission, const v1::DeviceLink* link, Done<AuthInfo> done);

  // Registrations through contact links are checked and counted by `links` (set once, by Domain).
  void set_contact_links(ContactLinks* links) { links_ = links; }
  // MLS keys are bound, checked and forgotten with `key_packages` (set once, by Domain).
  void set_key_packages(KeyPackages* key_packages) { key_packages_ = key_packages; }
  // Approved device requests are told to `requests` (set once, by Domain).
  void set_device_requests(DeviceRequests* requests) { requests_ = requests; }

  // Returns who the device is once `signature` over `transcript` verifies with its key.
  // Errors: kAuthFailed (unknown key or bad signature: the two are not told apart), kForbidden
  // (the account is suspended).
  Result<AuthInfo> authenticate(std::string_view public_key, std::string_view signature,
                                std::string_view transcript);

  // Adds a device to the actor's account with the chain's next link: an ADD of this key signed by
  // the actor (kForbidden when another key signed it), checked with policy::append (errors as
  // chain_error). Errors: kInvalidArgument (no link; accounts stored before chains existed have
  // none and so cannot add devices), kDeviceKeyTaken, kLimitReached. A pending device request for
  // this key learns the new device's id (DeviceRequests::approved).
  void add_device(DeviceId actor, std::string_view public_key, const v1::DeviceLink* link,
                  Done<DeviceId> done);

  // Returns the account with this handle. Errors: kInvalidHandle, kNotFound.
  Result<AccountView> lookup(std::string_view handle);

  // Makes a single-use registration code. actor 0 is the server machine's command line; otherwise
  // the actor must be an instance admin (kForbidden). ttl_ms 0: the configured default.
  void create_registration_code(DeviceId actor, int64_t ttl_ms, Done<RegistrationCode> done);

  // Sets an account's type. actor as above. Errors: kForbidden, kNotFound, kInvalidArgument.
  void set_account_type(DeviceId actor, std::string_view handle, AccountType type, Done<Ok> done);

  // Grants or revokes the admin flag: from the server machine (cercle-admin) only.
  void set_admin(std::string_view handle, bool admin, Done<Ok> done);
  // Suspends (or restores) an account: a suspended account's devices cannot authenticate. Returns
  // the account's devices, whose connections the caller closes. From the server machine only.
  void set_suspended(std::string_view handle, bool suspended, Done<std::vector<DeviceId>> done);
  // Revokes an unused registration code. Errors: kNotFound (unknown or already used).
  void revoke_registration_code(std::string_view code, Done<Ok> done);
  // Every account, by handle.
  std::vector<AccountSummary> list_accounts() const;

  // Account deletion, in two phases (account_deletion.cpp, Domain::delete_account). Phase 1:
  // stages marking `account` deleted (its chain and admin flag gone; it can no longer sign in or
  // be found by its handle, which stays taken). Phase 2: stages removing its account and device
  // records, keeping only its handle's hash (storage::DeletedHandleRecord).
  void mark_deleted(Change& change, const AccountState& account);
  void purge(Change& change, const AccountState& account);

  AuthInfo auth_info(const DeviceState& device) const;
  AccountView view(const AccountState& account) const;

 private:
  Status check_admission(Admission admission, std::string& code_hash) const;
  Status check_admin(DeviceId actor) const;
  // kDeviceKeyTaken when `mls_key` already names another device (as MLS key or device key).
  Status check_mls_key_free(std::string_view mls_key) const;
  // The chain a new account for `public_key` starts with `link` (link 0; null is refused).
  Result<policy::ChainView> start_chain(std::string_view handle, std::string_view public_key,
                                        const v1::DeviceLink* link) const;
  // The chain after `link` adds `public_key` to `account`, signed by `signer` (null is refused).
  Result<policy::ChainView> extend_chain(const AccountState& account, const DeviceState& signer,
                                         std::string_view public_key,
                                         const v1::DeviceLink* link) const;
  // Appends the checked `link` (whose result is `view`) to `account` (not yet in memory), and
  // stages binding the link's MLS key to `device` in `change`.
  void record_link(AccountState& account, DeviceId device, const v1::DeviceLink& link,
                   policy::ChainView view, Change& change);
  Status load_accounts();
  Status load_devices();
  static void write_account(const AccountState& account, storage::WriteBatch& batch);
  // Stages `account` (an updated copy of a stored account): its record and its place in memory.
  void put_account(Change& change, AccountState account);
  static void write_device(const DeviceState& device, storage::WriteBatch& batch);

  Context ctx_;
  RegistrationCodes codes_;
  Accounts accounts_;
  ContactLinks* links_ = nullptr;
  DeviceRequests* requests_ = nullptr;
  KeyPackages* key_packages_ = nullptr;
};

// Returns the canonical form of a registration code as typed by a person: upper case, without
// spaces or dashes.
std::string canonical_registration_code(std::string_view code);

}  // namespace cercle::domain

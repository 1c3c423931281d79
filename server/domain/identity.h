// Identity: accounts, devices, device authentication and the instance admin's registration codes.
//
// An account is a pseudonymous handle (see handle.h) with one or more devices; a device is an
// Ed25519 public key that proves itself by signing the connection's challenge transcript. Lives on
// the domain's thread; not thread-safe. Completion callbacks run on that thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "server/domain/state.h"

namespace cercle::domain {

class ContactLinks;

class Identity {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  explicit Identity(Context ctx) : ctx_(ctx) {}

  // What allows a registration: a registration code, or a contact link's token (either may be
  // empty).
  struct Admission {
    std::string_view code;
    std::string_view contact_token;
  };

  // Creates an account with its first device, once `signature` over `transcript` verifies with
  // `public_key`. `done` runs once the account is durable. Errors: kInvalidHandle, kHandleTaken,
  // kInvalidArgument (key size), kDeviceKeyTaken, kAuthFailed, kRegistrationCodeRequired,
  // kRegistrationCodeInvalid, kRateLimited (too many registrations through one contact link).
  void register_account(std::string_view handle, std::string_view public_key,
                        std::string_view signature, std::string_view transcript,
                        Admission admission, Done<AuthInfo> done);

  // Registrations through contact links are checked and counted by `links` (set once, by Domain).
  void set_contact_links(ContactLinks* links) { links_ = links; }

  // Returns who the device is once `signature` over `transcript` verifies with its key.
  // Errors: kAuthFailed (unknown key or bad signature: the two are not told apart), kForbidden
  // (the account is suspended).
  Result<AuthInfo> authenticate(std::string_view public_key, std::string_view signature,
                                std::string_view transcript);

  // Adds a device to the actor's account. Errors: kInvalidArgument, kDeviceKeyTaken, kLimitReached.
  void add_device(DeviceId actor, std::string_view public_key, Done<DeviceId> done);

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

  AuthInfo auth_info(const DeviceState& device) const;
  AccountView view(const AccountState& account) const;

 private:
  Status check_admission(Admission admission, std::string& code_hash) const;
  Status check_admin(DeviceId actor) const;
  void write_account(const AccountState& account, storage::WriteBatch& batch) const;
  // Forgets every key package of the account's devices, and their refs.
  void purge_key_packages(const AccountState& account, storage::WriteBatch& batch);
  static void write_device(const DeviceState& device, storage::WriteBatch& batch);

  Context ctx_;
  ContactLinks* links_ = nullptr;
};

// Returns the canonical form of a registration code as typed by a person: upper case, without
// spaces or dashes.
std::string canonical_registration_code(std::string_view code);

}  // namespace cercle::domain

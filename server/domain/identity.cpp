#include "server/domain/identity.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "server/domain/contact_links.h"
#include "server/domain/device_requests.h"
#include "server/domain/handle.h"
#include "server/domain/key_packages.h"

namespace cercle::domain {

namespace {

// Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand is not misread.
constexpr char kCodeAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr int kCodeChars = 16;  // 80 bits.

std::string sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<uint8_t*>(out.data()),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return out;
}

std::string new_code() {
  uint8_t random[kCodeChars];
  randombytes_buf(random, sizeof random);
  std::string code;
  for (int i = 0; i < kCodeChars; ++i) {
    if (i > 0 && i % 4 == 0) code.push_back('-');
    code.push_back(kCodeAlphabet[random[i] & 31]);
  }
  return code;
}

bool parse_key(std::string_view raw, PublicKey& key) {
  if (raw.size() != key.size()) return false;
  std::memcpy(key.data(), raw.data(), key.size());
  return true;
}

bool verify(const PublicKey& key, std::string_view signature, std::string_view message) {
  if (signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const uint8_t*>(signature.data()),
                                     reinterpret_cast<const uint8_t*>(message.data()),
                                     message.size(), key.data()) == 0;
}

std::string key_bytes(const PublicKey& key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

}  // namespace

Error chain_error(const policy::ChainRefusal& refusal) {
  switch (refusal.code) {
    case policy::ChainErrc::kBadSignature:
    case policy::ChainErrc::kNotApproved:
      return make_error(Errc::kForbidden, refusal.message);
    case policy::ChainErrc::kBrokenLink:
      return make_error(Errc::kChainConflict,
                        refusal.message + ": the chain moved on, read it again");
    case policy::ChainErrc::kDuplicate:
      return make_error(Errc::kDeviceKeyTaken, refusal.message);
    case policy::ChainErrc::kTooLong:
      return make_error(Errc::kLimitReached, refusal.message);
    default:
      return make_error(Errc::kInvalidArgument, refusal.message);
  }
}

std::string canonical_registration_code(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

AuthInfo Identity::auth_info(const DeviceState& device) const {
  const AccountState* a = accounts_.account(device.account);
  return AuthInfo{device.account, device.id, a ? a->handle : "", a ? a->type : AccountType::kPeer,
                  a && a->admin};
}

AccountView Identity::view(const AccountState& account) const {
  AccountView v{account.id, account.handle, account.type, {}, account.chain};
  for (DeviceId id : account.devices) {
    if (const DeviceState* d = accounts_.device(id)) v.devices.push_back({id, d->public_key});
  }
  return v;
}

Status Identity::check_mls_key_free(std::string_view mls_key) const {
  PublicKey as_device;
  if (key_packages_->mls_key_owner(std::string(mls_key)) != 0 ||
      (parse_key(mls_key, as_device) && accounts_.device_key_taken(as_device))) {
    return make_error(Errc::kDeviceKeyTaken, "this MLS key belongs to another device");
  }
  return Ok{};
}

Result<policy::ChainView> Identity::start_chain(std::string_view handle,
                                                std::string_view public_key,
                                                const v1::DeviceLink* link) const {
  if (!link) {
    return make_error(Errc::kInvalidArgument, "the account's first device link is required");
  }
  if (link->seq() != 0 || !link->previous_hash().empty() || link->device_key() != public_key) {
    return make_error(Errc::kInvalidArgument,
                      "the account's first link is link 0 and adds the registering device");
  }
  if (auto s = check_mls_key_free(link->mls_key()); !s) return std::move(s).error();
  auto check = policy::append({}, handle, *link);
  if (!check.ok()) return chain_error(check.error());
  return *std::move(check);
}

Result<policy::ChainView> Identity::extend_chain(const AccountState& account,
                                                 const DeviceState& signer,
                                                 std::string_view public_key,
                                                 const v1::DeviceLink* link) const {
  if (!link) {
    return make_error(Errc::kInvalidArgument,
                      "this account's devices are added with a signed device link");
  }
  if (link->op() != v1::DEVICE_ADD || link->device_key() != public_key) {
    return make_error(Errc::kInvalidArgument, "the link must add device_public_key");
  }
  if (link->signer_key() != key_bytes(signer.public_key)) {
    return make_error(Errc::kForbidden, "the link must be signed by the device that adds");
  }
  if (auto s = check_mls_key_free(link->mls_key()); !s) return std::move(s).error();
  auto check = policy::append(account.chain_view, account.handle, *link);
  if (!check.ok()) return chain_error(check.error());
  return *std::move(check);
}

void Identity::record_link(AccountState& account, DeviceId device, const v1::DeviceLink& link,
                           policy::ChainView view, Change& change) {
  account.chain.push_back(link.SerializeAsString());
  account.chain_view = std::move(view);
  key_packages_->bind_mls_key(change, link.mls_key(), device);
}

void Identity::put_account(Change& change, AccountState account) {
  write_account(account, change.batch());
  change.on_commit([this, account = std::move(account)]() mutable {
    accounts_.put_account(std::move(account));
  });
}

Status Identity::check_admission(Admission admission, std::string& code_hash) const {
  if (!admission.contact_token.empty()) {
    // Whatever the policy: a visitor who came through a broken link should hear so.
    if (!links_) return make_error(Errc::kInternal, "contact links are not set up");
    return links_->check_registration(admission.contact_token);
  }
  if (ctx_.config.registration == RegistrationPolicy::kOpen) return Ok{};
  if (admission.code.empty()) {
    return make_error(Errc::kRegistrationCodeRequired, "this instance needs a registration code");
  }
  code_hash = sha256(canonical_registration_code(admission.code));
  if (!codes_.usable(code_hash, ctx_.clock.now_ms())) {
    return make_error(Errc::kRegistrationCodeInvalid,
                      "the registration code is unknown, expired or already used");
  }
  return Ok{};
}

void Identity::register_account(std::string_view handle_in, std::string_view public_key,
                                std::string_view signature, std::string_view transcript,
                                Admission admission, const v1::DeviceLink* link,
                                Done<AuthInfo> done) {
  auto handle = normalize_handle(handle_in);
  if (!handle) return done(std::move(handle).error());
  if (accounts_.handle_taken(handle->key)) {
    return done(make_error(Errc::kHandleTaken, "this handle is taken"));
  }
  PublicKey key;
  if (!parse_key(public_key, key)) {
    return done(make_error(Errc::kInvalidArgument, "device_public_key must be 32 bytes"));
  }
  if (accounts_.device_key_taken(key)) {
    return done(make_error(Errc::kDeviceKeyTaken, "this device key is already registered"));
  }
  // The signature is checked before the code so that a forged request cannot burn a code.
  if (!verify(key, signature, transcript)) {
    return done(make_error(Errc::kAuthFailed, "the signature does not verify"));
  }
  // Clients sign the handle as the relay stores it (NFC), which they read back in AuthResult.
  auto chain = start_chain(handle->display, public_key, link);
  if (!chain) return done(std::move(chain).error());
  std::string code_hash;
  if (auto s = check_admission(admission, code_hash); !s) return done(std::move(s).error());

  const int64_t now = ctx_.clock.now_ms();
  AccountState account{
      accounts_.new_account_id(), handle->display, AccountType::kPeer, false, false, now, {}};
  DeviceState device{accounts_.new_device_id(), account.id, key, now};
  account.devices.push_back(device.id);

  Change change = ctx_.change();
  record_link(account, device.id, *link, std::move(*chain), change);
  write_account(account, change.batch());
  write_device(device, change.batch());
  if (!code_hash.empty()) codes_.mark_used(change, code_hash);
  if (!admission.contact_token.empty()) {
    links_->record_registration(admission.contact_token, change);
  }
  AuthInfo info{account.id, device.id, account.handle, account.type, false};
  change.on_commit([this, handle_key = handle->key, account = std::move(account),
                    device = std::move(device)]() mutable {
    accounts_.add_account(std::move(account), handle_key);
    accounts_.add_device(std::move(device));
  });
  std::move(change).commit(ctx_.committer, [info = std::move(info), done](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(info));
  });
}

Result<AuthInfo> Identity::authenticate(std::string_view public_key, std::string_view signature,
                                        std::string_view transcript) {
  PublicKey key;
  const DeviceState* device = parse_key(public_key, key) ? accounts_.device_by_key(key) : nullptr;
  if (!device || !verify(key, signature, transcript)) {
    return make_error(Errc::kAuthFailed, "unknown device or bad signature");
  }
  const AccountState* account = accounts_.account(device->account);
  if (!account || account->deleted_ms != 0) {
    return make_error(Errc::kAuthFailed, "unknown device or bad signature");
  }
  if (account->suspended) {
    return make_error(Errc::kForbidden, "this account is suspended by the instance's admins");
  }
  return auth_info(*device);
}

void Identity::add_device(DeviceId actor, std::string_view public_key, const v1::DeviceLink* link,
                          Done<DeviceId> done) {
  const DeviceState* owner = accounts_.device(actor);
  const AccountState* account = owner ? accounts_.account(owner->account) : nullptr;
  if (!account || account->deleted_ms != 0) {
    return done(make_error(Errc::kNotAuthenticated, "unknown device"));
  }
  PublicKey key;
  if (!parse_key(public_key, key)) {
    return done(make_error(Errc::kInvalidArgument, "device_public_key must be 32 bytes"));
  }
  if (accounts_.device_key_taken(key)) {
    return done(make_error(Errc::kDeviceKeyTaken, "this device key is already registered"));
  }
  if (account->devices.size() >= ctx_.config.max_devices_per_account) {
    return done(make_error(Errc::kLimitReached, "the account has the maximum number of devices"));
  }
  auto chain = extend_chain(*account, *owner, public_key, link);
  if (!chain) return done(std::move(chain).error());
  DeviceState device{accounts_.new_device_id(), account->id, key, ctx_.clock.now_ms()};
  // Applied when the change commits, before the write completes: a second link at the same seq
  // is a conflict.
  AccountState updated = *account;
  updated.devices.push_back(device.id);
  Change change = ctx_.change();
  record_link(updated, device.id, *link, std::move(*chain), change);
  write_device(device, change.batch());
  const DeviceId id = device.id;
  put_account(change, std::move(updated));
  change.on_commit(
      [this, device = std::move(device)]() mutable { accounts_.add_device(std::move(device)); });
  std::move(change).commit(ctx_.committer, [this, id, key, done](const Status& s) {
    if (!s) return done(s.error());
    if (requests_) requests_->approved(key, id);
    done(id);
  });
}

Result<AccountView> Identity::lookup(std::string_view handle_in) {
  auto handle = normalize_handle(handle_in);
  if (!handle) return std::move(handle).error();
  const AccountState* account = accounts_.account_by_key(handle->key);
  if (!account) return make_error(Errc::kNotFound, "no account has this handle");
  return view(*account);
}

Status Identity::check_admin(DeviceId actor) const {
  if (actor == 0) return Ok{};
  const AccountState* account = accounts_.account_of(actor);
  if (!account || !account->admin) {
    return make_error(Errc::kForbidden, "only an instance admin may do this");
  }
  return Ok{};
}

void Identity::create_registration_code(DeviceId actor, int64_t ttl_ms,
                                        Done<RegistrationCode> done) {
  if (auto s = check_admin(actor); !s) return done(std::move(s).error());
  if (ttl_ms < 0) return done(make_error(Errc::kInvalidArgument, "ttl must not be negative"));
  const int64_t now = ctx_.clock.now_ms();
  RegistrationCode code{new_code(), now + (ttl_ms ? ttl_ms : ctx_.config.registration_code_ttl_ms)};
  const std::string hash = sha256(canonical_registration_code(code.code));
  Change change = ctx_.change();
  codes_.add(change, hash, now, code.expires_ms);
  std::move(change).commit(ctx_.committer, [code = std::move(code), done](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(code));
  });
}

void Identity::set_account_type(DeviceId actor, std::string_view handle_in, AccountType type,
                                Done<Ok> done) {
  if (auto s = check_admin(actor); !s) return done(std::move(s).error());
  if (type != AccountType::kPeer && type != AccountType::kProfessional) {
    return done(make_error(Errc::kInvalidArgument, "type must be PEER or PROFESSIONAL"));
  }
  auto handle = normalize_handle(handle_in);
  if (!handle) return done(std::move(handle).error());
  const AccountState* account = accounts_.account_by_key(handle->key);
  if (!account) return done(make_error(Errc::kNotFound, "no account has this handle"));
  const bool changed = account->type != type;
  AccountState updated = *account;
  updated.type = type;
  Change change = ctx_.change();
  put_account(change, std::move(updated));
  // The account's key packages declare its old type, and members read the type from the leaf:
  // they go, and its devices publish new ones when they next sign in.
  if (changed) key_packages_->forget_devices(change, account->devices);
  // Contact links are for peer helpers: a professional's end with the change that makes it one.
  if (changed && type == AccountType::kProfessional && links_) {
    links_->end_links_of(change, account->id);
  }
  std::move(change).commit(ctx_.committer, [done](const Status& s) { done(s); });
}

void Identity::set_admin(std::string_view handle_in, bool admin, Done<Ok> done) {
  auto handle = normalize_handle(handle_in);
  if (!handle) return done(std::move(handle).error());
  const AccountState* account = accounts_.account_by_key(handle->key);
  if (!account) return done(make_error(Errc::kNotFound, "no account has this handle"));
  AccountState updated = *account;
  updated.admin = admin;
  Change change = ctx_.change();
  put_account(change, std::move(updated));
  std::move(change).commit(ctx_.committer, [done](const Status& s) { done(s); });
}

void Identity::set_suspended(std::string_view handle_in, bool suspended,
                             Done<std::vector<DeviceId>> done) {
  auto handle = normalize_handle(handle_in);
  if (!handle) return done(std::move(handle).error());
  const AccountState* account = accounts_.account_by_key(handle->key);
  if (!account) return done(make_error(Errc::kNotFound, "no account has this handle"));
  AccountState updated = *account;
  updated.suspended = suspended;
  Change change = ctx_.change();
  put_account(change, std::move(updated));
  std::move(change).commit(ctx_.committer, [devices = account->devices, done](const Status& s) {
    if (!s) return done(s.error());
    done(devices);
  });
}

void Identity::revoke_registration_code(std::string_view code, Done<Ok> done) {
  const std::string hash = sha256(canonical_registration_code(code));
  if (!codes_.unused(hash)) {
    return done(make_error(Errc::kNotFound, "no unused registration code like this"));
  }
  Change change = ctx_.change();
  codes_.mark_used(change, hash);
  std::move(change).commit(ctx_.committer, [done](const Status& s) { done(s); });
}

std::vector<AccountSummary> Identity::list_accounts() const {
  std::vector<AccountSummary> out;
  for (const auto& [id, a] : accounts_.accounts()) {
    if (a.deleted_ms != 0) continue;  // Gone for everyone, the admins included.
    out.push_back({a.handle, a.type, a.admin, a.suspended, a.devices.size(), a.created_ms});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& x, const auto& y) { return x.handle < y.handle; });
  return out;
}

}  // namespace cercle::domain

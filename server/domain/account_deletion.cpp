// Account deletion (Domain::delete_account), in two phases because the relay's records must stay
// consistent: a deleted device's leaf stays in a group's MLS tree until a member commits its
// removal, and the relay's member list must equal the tree; Domain::load refuses a member record
// naming no device. Phase 1 therefore marks the account deleted and drops everything that is not
// needed for that; phase 2 deletes the rest once its devices are members of nothing.
#include <algorithm>

#include "server/common/log.h"
#include "server/domain/domain.h"
#include "server/domain/handle.h"

namespace cercle::domain {

void Identity::mark_deleted(Change& change, const AccountState& account) {
  auto handle = normalize_handle(account.handle);
  AccountState deleted = account;
  deleted.deleted_ms = std::max<int64_t>(ctx_.clock.now_ms(), 1);
  deleted.admin = false;
  // The chain named the account's devices and keys: nobody may read it any more.
  deleted.chain.clear();
  deleted.chain_view = {};
  write_account(deleted, change.batch());
  change.on_commit([this, deleted = std::move(deleted), key = handle ? handle->key : ""]() mutable {
    accounts_.mark_deleted(std::move(deleted), key);
  });
}

void Identity::purge(Change& change, const AccountState& account) {
  for (DeviceId d : account.devices) change.batch().delete_device(d);
  change.batch().delete_account(account.id);
  if (auto handle = normalize_handle(account.handle)) {
    storage::DeletedHandleRecord r;
    r.set_deleted_ms(account.deleted_ms);
    change.batch().put_deleted_handle(Accounts::deleted_handle_hash(handle->key), r);
  }
  change.on_commit([this, id = account.id] { accounts_.remove_account(id); });
}

Result<const AccountState*> Domain::deletable(DeviceId actor, std::string_view handle) const {
  auto given = normalize_handle(handle);
  if (actor == 0) {
    const AccountState* account = given ? identity_.account_by_key(given->key) : nullptr;
    if (!account) return make_error(Errc::kNotFound, "no account has this handle");
    return account;
  }
  const AccountState* account = identity_.account_of(actor);
  if (!account || account->deleted_ms != 0) {
    return make_error(Errc::kNotAuthenticated, "unknown device");
  }
  auto own = normalize_handle(account->handle);
  if (!given || !own || given->key != own->key) {
    return make_error(Errc::kInvalidArgument,
                      "handle must be this account's own, to confirm its deletion");
  }
  return account;
}

void Domain::delete_account(DeviceId actor, std::string_view handle,
                            Done<std::vector<DeviceId>> done) {
  auto found = deletable(actor, handle);
  if (!found) return done(std::move(found).error());
  const AccountState& account = **found;
  const AccountId id = account.id;
  std::vector<DeviceId> devices = account.devices;
  Change change = ctx_.change();
  key_packages_.forget_devices(change, devices);
  contact_links_.erase_links_of(change, id);
  groups_.forget_account(change, id);
  push_subscriptions_.forget_devices(change, devices);
  identity_.mark_deleted(change, account);  // Last: its update replaces `account`.
  change.on_commit([this, id] { device_requests_.forget_account(id); });
  std::move(change).commit(ctx_.committer, [this, id, devices, done](const Status& s) {
    if (!s) return done(s.error());
    ++accounts_deleted_;
    log::info("account.deleted", {{"account", id}});
    drop_sealed_reports(devices);
    purge_if_done(id);  // At once when it was in no conversation.
    done(devices);
  });
}

void Domain::drop_sealed_reports(const std::vector<DeviceId>& devices) {
  for (DeviceId d : devices) {
    for (const auto& report : groups_.pending_reports(d)) {
      groups_.ack_report(d, report.id, [](const Result<Ok>&) {});
    }
  }
}

bool Domain::purge_if_done(AccountId id) {
  const AccountState* account = identity_.account(id);
  if (!account || account->deleted_ms == 0) return false;
  bool member = false;
  for (DeviceId d : account->devices) {
    for (const auto& s : conversations_.streams(d)) {
      if (s.readable_upto == 0) {
        member = true;
        continue;
      }
      // Removed from it: the device will never read what is left, and acknowledging the end of
      // its stream forgets its membership (member and cursor records).
      (void)conversations_.ack(d, s.conv, s.readable_upto);
    }
    member = member || !conversations_.streams(d).empty();
  }
  if (member) return false;
  Change change = ctx_.change();
  key_packages_.forget_mls_keys(change, account->devices);
  identity_.purge(change, *account);
  std::move(change).commit(ctx_.committer, nullptr);
  log::info("account.purged", {{"account", id}});
  return true;
}

size_t Domain::purge_deleted_accounts() {
  std::vector<AccountId> deleted;
  for (const auto& [id, a] : identity_.accounts().accounts()) {
    if (a.deleted_ms != 0) deleted.push_back(id);
  }
  size_t purged = 0;
  for (AccountId id : deleted) purged += purge_if_done(id) ? 1 : 0;
  return purged;
}

}  // namespace cercle::domain

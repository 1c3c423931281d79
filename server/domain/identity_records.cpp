// Identity, its records: the encoding of accounts and devices, and their loading at start-up.
#include "server/domain/handle.h"
#include "server/domain/identity.h"
#include "server/domain/loading.h"

namespace cercle::domain {

namespace {

using loading::damaged;
using loading::scan_checked;

// Reads the account's stored device chain and checks it again: every link was checked before it
// was stored, so a chain that does not verify means the data folder was damaged or tampered with.
Status load_chain(const storage::AccountRecord& r, AccountState& a) {
  std::vector<v1::DeviceLink> links(r.chain_size());
  for (int i = 0; i < r.chain_size(); ++i) {
    if (!links[i].ParseFromString(r.chain(i))) {
      return make_error(Errc::kInternal, "a stored device link does not parse");
    }
  }
  auto check = policy::verify_chain(r.handle(), links);
  if (!check.ok()) {
    return make_error(Errc::kInternal,
                      "account " + std::to_string(r.id()) +
                          ": the stored device chain does not verify: " + check.error().message);
  }
  a.chain.assign(r.chain().begin(), r.chain().end());
  a.chain_view = *std::move(check);
  return Ok{};
}

}  // namespace

Status Identity::load() {
  if (auto s = load_accounts(); !s) return s;
  if (auto s = load_devices(); !s) return s;
  auto deleted = ctx_.store.scan_deleted_handles(
      [&](std::string_view hash, const storage::DeletedHandleRecord&) {
        accounts_.add_deleted_handle(std::string(hash));
      });
  if (!deleted) return deleted;
  return codes_.load();
}

Status Identity::load_accounts() {
  return scan_checked([&](auto report) {
    return ctx_.store.scan_accounts([&](const storage::AccountRecord& r) {
      auto handle = normalize_handle(r.handle());
      if (!handle) return report(damaged("account " + std::to_string(r.id()) + ": bad handle"));
      AccountState a{r.id(),    r.handle(),    static_cast<AccountType>(r.type()),
                     r.admin(), r.suspended(), r.created_ms(),
                     {}};
      if (r.deleted_ms() != 0) {
        // Deleted, its devices still in conversations (account_deletion.cpp): its chain is gone.
        a.deleted_ms = r.deleted_ms();
        a.admin = false;
        accounts_.add_account(a, handle->key);
        return accounts_.mark_deleted(std::move(a), handle->key);
      }
      if (auto s = load_chain(r, a); !s) return report(std::move(s));
      accounts_.add_account(std::move(a), handle->key);
    });
  });
}

Status Identity::load_devices() {
  return scan_checked([&](auto report) {
    return ctx_.store.scan_devices([&](const storage::DeviceRecord& r) {
      DeviceState d{r.id(), r.account_id(), {}, r.created_ms()};
      if (!accounts_.account(d.account) || r.public_key().size() != d.public_key.size()) {
        return report(damaged("device " + std::to_string(r.id()) + ": bad key or account"));
      }
      std::memcpy(d.public_key.data(), r.public_key().data(), d.public_key.size());
      accounts_.add_device(std::move(d));
    });
  });
}

void Identity::write_account(const AccountState& account, storage::WriteBatch& batch) {
  storage::AccountRecord r;
  r.set_id(account.id);
  r.set_handle(account.handle);
  r.set_type(static_cast<int>(account.type));
  r.set_admin(account.admin);
  r.set_suspended(account.suspended);
  r.set_created_ms(account.created_ms);
  for (const auto& link : account.chain) r.add_chain(link);
  r.set_deleted_ms(account.deleted_ms);
  batch.put_account(r);
}

void Identity::write_device(const DeviceState& device, storage::WriteBatch& batch) {
  storage::DeviceRecord r;
  r.set_id(device.id);
  r.set_account_id(device.account);
  r.set_public_key(device.public_key.data(), device.public_key.size());
  r.set_created_ms(device.created_ms);
  batch.put_device(r);
}

}  // namespace cercle::domain

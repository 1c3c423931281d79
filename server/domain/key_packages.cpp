#include "server/domain/key_packages.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "server/domain/handle.h"
#include "server/domain/loading.h"

namespace cercle::domain {

namespace {

uint64_t digest(std::string_view data) {
  uint8_t hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  uint64_t d;
  std::memcpy(&d, hash, sizeof d);
  return d;
}

}  // namespace

const DevicePackages* KeyPackages::packages_of(DeviceId device) const {
  auto it = devices_.find(device);
  return it == devices_.end() ? nullptr : &it->second;
}

std::string_view KeyPackages::mls_signature_key(DeviceId device) const {
  const DevicePackages* d = packages_of(device);
  return d ? std::string_view(d->mls_signature_key) : std::string_view();
}

DeviceId KeyPackages::mls_key_owner(const std::string& key) const {
  auto it = mls_keys_.find(key);
  return it == mls_keys_.end() ? 0 : it->second;
}

const KeyPackages::PackageRef* KeyPackages::package_ref(const std::string& ref) const {
  auto it = refs_.find(ref);
  return it == refs_.end() ? nullptr : &it->second;
}

size_t KeyPackages::stored() const {
  size_t n = 0;
  for (const auto& [id, d] : devices_) n += d.packages.size() + (d.last_resort ? 1 : 0);
  return n;
}

Status KeyPackages::load() {
  if (auto s = load_packages(); !s) return s;
  if (auto s = ctx_.store.scan_package_refs(
          [&](std::string_view ref, const storage::PackageRefRecord& r) {
            refs_[std::string(ref)] = PackageRef{r.device(), r.last_resort(), r.used()};
          });
      !s) {
    return s;
  }
  if (auto s = ctx_.store.scan_mls_keys([&](std::string_view key, DeviceId device) {
        mls_keys_[std::string(key)] = device;
        if (identity_.device(device)) devices_[device].mls_signature_key = std::string(key);
      });
      !s) {
    return s;
  }
  return ctx_.store.scan_used_key_packages([&](uint64_t digest) { digests_.insert(digest); });
}

Status KeyPackages::load_packages() {
  return loading::scan_checked([&](auto report) {
    return ctx_.store.scan_key_packages(
        [&](DeviceId device, uint64_t seq, const storage::KeyPackageRecord& r) {
          if (!identity_.device(device))
            return report(loading::damaged("key package of no device"));
          DevicePackages& d = devices_[device];
          KeyPackageSlot slot{seq, digest(r.data()), {}};
          if (r.last_resort()) {
            slot.ref = r.ref();
            d.last_resort = slot;
          } else {
            d.packages.push_back(slot);
          }
          d.next_package_seq = std::max(d.next_package_seq, seq + 1);
          digests_.insert(slot.digest);
        });
  });
}

Result<mls_checks::KeyPackageFacts> KeyPackages::check_package(std::string_view data,
                                                               const DeviceState& device) const {
  // An hour of tolerance on lifetimes: a phone's clock may be a little ahead of the server's.
  auto facts =
      mls_checks::key_package(data, static_cast<uint64_t>(ctx_.clock.now_ms() / 1000), 3600);
  if (!facts) return std::move(facts).error();
  const AccountState* account = identity_.account(device.account);
  if (!account || facts->identity != account->handle) {
    return make_error(Errc::kInvalidArgument,
                      "the key package's credential must be the account's handle");
  }
  // Members see from the leaf who is a professional: the claim must be the account's type, and a
  // professional's packages must make it.
  const bool professional = account->type == AccountType::kProfessional;
  if (facts->professional != professional || (professional && !facts->has_account_type)) {
    return make_error(Errc::kInvalidArgument,
                      "the key package's account type must be the account's (" +
                          std::string(professional ? "professional" : "peer") + ")");
  }
  // The device's MLS key is the one its link names, and nothing else. Only an account stored
  // before chains existed has no chain (it cannot add devices): its devices' MLS keys are bound
  // by their first KeyPackage, below.
  if (!account->chain_view.empty()) {
    const std::string device_key(reinterpret_cast<const char*>(device.public_key.data()),
                                 device.public_key.size());
    const policy::ChainDevice* entry = account->chain_view.find(device_key);
    if (!entry || entry->mls_key != facts->signature_key) {
      return make_error(Errc::kForbidden,
                        "the key package's signature key is not this device's MLS key in the "
                        "account's device chain");
    }
  }
  const DeviceId owner = mls_key_owner(facts->signature_key);
  if (owner != 0 && owner != device.id) {
    return make_error(Errc::kInvalidArgument, "this MLS signature key belongs to another device");
  }
  return facts;
}

Result<std::vector<KeyPackages::Checked>> KeyPackages::check_upload(
    const DeviceState& device, const DevicePackages& stock,
    const std::vector<KeyPackageUpload>& packages) const {
  if (packages.empty()) return make_error(Errc::kInvalidArgument, "no key package given");
  std::vector<Checked> checked;
  std::unordered_set<uint64_t> seen;
  size_t regular = 0, last_resort = 0;
  for (const auto& p : packages) {
    if (p.data.empty() || p.data.size() > ctx_.config.max_payload_bytes) {
      return make_error(Errc::kInvalidArgument, "a key package is empty or too large");
    }
    const uint64_t d = digest(p.data);
    if (digests_.contains(d) || !seen.insert(d).second) {
      return make_error(Errc::kDuplicateKeyPackage, "this key package was already uploaded");
    }
    auto facts = check_package(p.data, device);
    if (!facts) return std::move(facts).error();
    checked.push_back({d, std::move(facts->ref), std::move(facts->signature_key)});
    (p.last_resort ? last_resort : regular) += 1;
  }
  if (last_resort > 1) {
    return make_error(Errc::kInvalidArgument, "at most one last-resort key package");
  }
  if (stock.packages.size() + regular > ctx_.config.max_key_packages) {
    return make_error(Errc::kKeyPackageLimit, "the device already stores " +
                                                  std::to_string(stock.packages.size()) +
                                                  " key packages; the limit is " +
                                                  std::to_string(ctx_.config.max_key_packages));
  }
  return checked;
}

void KeyPackages::store(DeviceId actor, DevicePackages& stock, KeyPackageUpload package,
                        Checked checked, Change& change) {
  storage::WriteBatch& batch = change.batch();
  storage::PackageRefRecord ref;
  ref.set_device(actor);
  ref.set_last_resort(package.last_resort);
  batch.put_package_ref(checked.ref, ref);
  KeyPackageSlot slot{stock.next_package_seq++, checked.digest, {}};
  storage::KeyPackageRecord r;
  r.set_data(std::move(package.data));
  r.set_last_resort(package.last_resort);
  if (package.last_resort) r.set_ref(checked.ref);
  batch.put_key_package(actor, slot.seq, r);
  std::optional<KeyPackageSlot> replaced;
  if (!package.last_resort) {
    stock.packages.push_back(slot);
  } else {
    // A new last-resort package replaces the old one, ref and all.
    replaced = std::move(stock.last_resort);
    if (replaced) batch.delete_key_package(actor, replaced->seq);
    if (replaced && !replaced->ref.empty()) batch.delete_package_ref(replaced->ref);
    slot.ref = checked.ref;
    stock.last_resort = slot;
  }
  change.on_commit([this, actor, ref = std::move(checked.ref), digest = checked.digest,
                    last_resort = package.last_resort, replaced = std::move(replaced)] {
    refs_[ref] = PackageRef{actor, last_resort, false};
    digests_.insert(digest);
    if (!replaced) return;
    digests_.erase(replaced->digest);
    if (!replaced->ref.empty()) refs_.erase(replaced->ref);
  });
}

void KeyPackages::upload(DeviceId actor, std::vector<KeyPackageUpload> packages,
                         Done<uint32_t> done) {
  const DeviceState* device = identity_.device(actor);
  if (!device) return done(make_error(Errc::kNotAuthenticated, "unknown device"));
  const DevicePackages* current = packages_of(actor);
  DevicePackages stock = current ? *current : DevicePackages{};
  auto checked = check_upload(*device, stock, packages);
  if (!checked) return done(std::move(checked).error());
  Change change = ctx_.change();
  std::vector<std::string> new_keys;  // Bound by this upload (accounts without a chain).
  for (const auto& c : *checked) {
    const bool known =
        mls_keys_.contains(c.signature_key) ||
        std::find(new_keys.begin(), new_keys.end(), c.signature_key) != new_keys.end();
    if (!known) {
      change.batch().put_mls_key(c.signature_key, actor);
      new_keys.push_back(c.signature_key);
    }
    stock.mls_signature_key = c.signature_key;
  }
  for (size_t i = 0; i < packages.size(); ++i) {
    store(actor, stock, std::move(packages[i]), std::move((*checked)[i]), change);
  }
  const auto stored = static_cast<uint32_t>(stock.packages.size());
  change.on_commit(
      [this, actor, stock = std::move(stock), new_keys = std::move(new_keys)]() mutable {
        for (const auto& key : new_keys) mls_keys_.emplace(key, actor);
        devices_[actor] = std::move(stock);
      });
  std::move(change).commit(ctx_.committer, [stored, done](const Status& s) {
    if (!s) return done(s.error());
    done(stored);
  });
}

Result<FetchedKeyPackage> KeyPackages::take(DeviceId id, Change& change,
                                            std::vector<std::pair<DeviceId, uint32_t>>& low) {
  FetchedKeyPackage fetched{id, {}, false};
  const DevicePackages* stock = packages_of(id);
  std::optional<KeyPackageSlot> slot;
  if (stock && !stock->packages.empty()) {
    slot = stock->packages.front();
  } else if (stock && stock->last_resort) {
    slot = stock->last_resort;
    fetched.last_resort = true;
  }
  if (!slot) return fetched;
  auto record = ctx_.store.read_key_package(id, slot->seq);
  if (!record) return std::move(record).error();
  fetched.data = std::move(*record->mutable_data());
  if (fetched.last_resort) return fetched;
  // Its digest stays known, so that the same package cannot be uploaded and handed out again.
  change.batch().delete_key_package(id, slot->seq);
  change.batch().put_used_key_package(slot->digest);
  change.on_commit([this, id] {
    auto& packages = devices_[id].packages;
    packages.erase(packages.begin());
  });
  const size_t left = stock->packages.size() - 1;
  if (left < ctx_.config.max_key_packages / 4) low.emplace_back(id, static_cast<uint32_t>(left));
  return fetched;
}

void KeyPackages::fetch(DeviceId actor, std::string_view handle_in, Done<FetchedKeyPackages> done) {
  auto handle = normalize_handle(handle_in);
  if (!handle) return done(std::move(handle).error());
  const AccountState* account = identity_.account_by_key(handle->key);
  if (!account) return done(make_error(Errc::kNotFound, "no account has this handle"));

  FetchedKeyPackages out{identity_.view(*account), {}};
  Change change = ctx_.change();
  std::vector<std::pair<DeviceId, uint32_t>> low;
  for (DeviceId id : account->devices) {
    if (!identity_.device(id) || id == actor) continue;  // A device never adds itself.
    auto fetched = take(id, change, low);
    if (!fetched) return done(std::move(fetched).error());
    out.packages.push_back(std::move(*fetched));
  }
  std::move(change).commit(ctx_.committer, [out = std::move(out), low = std::move(low), done,
                                            this](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(out));
    if (low_stock_) {
      for (auto [device, stored] : low) low_stock_(device, stored);
    }
  });
}

KeyPackageCount KeyPackages::count(DeviceId actor) const {
  const DevicePackages* device = packages_of(actor);
  if (!identity_.device(actor) || !device) return {};
  return {static_cast<uint32_t>(device->packages.size()), device->last_resort.has_value()};
}

void KeyPackages::bind_mls_key(Change& change, const std::string& key, DeviceId device) {
  change.batch().put_mls_key(key, device);
  change.on_commit([this, key, device] {
    mls_keys_[key] = device;
    devices_[device].mls_signature_key = key;
  });
}

void KeyPackages::mark_used(Change& change, const std::string& ref) {
  const PackageRef* known = package_ref(ref);
  if (!known || known->last_resort) return;
  storage::PackageRefRecord r;
  r.set_device(known->device);
  r.set_used(true);
  change.batch().put_package_ref(ref, r);
  change.on_commit([this, ref] { refs_[ref].used = true; });
}

void KeyPackages::forget_devices(Change& change, const std::vector<DeviceId>& devices) {
  for (DeviceId id : devices) {
    const DevicePackages* stock = packages_of(id);
    if (!stock) continue;
    for (const auto& slot : stock->packages) change.batch().delete_key_package(id, slot.seq);
    if (stock->last_resort) change.batch().delete_key_package(id, stock->last_resort->seq);
    change.on_commit([this, id] {
      DevicePackages& d = devices_[id];
      d.packages.clear();
      d.last_resort.reset();
    });
  }
  // A package fetched before the change must not add the device either: its ref goes too, so the
  // relay no longer knows the package (a commit adding it is refused).
  for (const auto& [ref, owner] : refs_) {
    if (std::find(devices.begin(), devices.end(), owner.device) != devices.end()) {
      change.batch().delete_package_ref(ref);
      change.on_commit([this, r = ref] { refs_.erase(r); });
    }
  }
}

void KeyPackages::forget_mls_keys(Change& change, const std::vector<DeviceId>& devices) {
  forget_devices(change, devices);
  for (const auto& [key, owner] : mls_keys_) {
    if (std::find(devices.begin(), devices.end(), owner) == devices.end()) continue;
    change.batch().delete_mls_key(key);
    change.on_commit([this, k = key] { mls_keys_.erase(k); });
  }
  change.on_commit([this, devices] {
    for (DeviceId id : devices) devices_.erase(id);
  });
}

}  // namespace cercle::domain

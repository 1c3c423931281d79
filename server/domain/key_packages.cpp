#include "server/domain/key_packages.h"

#include <sodium.h>

#include <cstring>
#include <unordered_set>

#include "server/domain/handle.h"

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
  auto owner = ctx_.state.mls_keys.find(facts->signature_key);
  if (owner != ctx_.state.mls_keys.end() && owner->second != device.id) {
    return make_error(Errc::kInvalidArgument, "this MLS signature key belongs to another device");
  }
  return facts;
}

Status KeyPackages::load() {
  for (const auto& [id, device] : ctx_.state.device_packages) {
    for (const auto& slot : device.packages) digests_.insert(slot.digest);
    if (device.last_resort) digests_.insert(device.last_resort->digest);
  }
  return ctx_.store.scan_used_key_packages([&](uint64_t digest) { digests_.insert(digest); });
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

void KeyPackages::store(DeviceId actor, DevicePackages& device, KeyPackageUpload package,
                        Checked checked, storage::WriteBatch& batch) {
  auto& state = ctx_.state;
  storage::PackageRefRecord ref;
  ref.set_device(actor);
  ref.set_last_resort(package.last_resort);
  batch.put_package_ref(checked.ref, ref);
  state.package_refs[checked.ref] = State::PackageRef{actor, package.last_resort, false};
  KeyPackageSlot slot;
  slot.seq = device.next_package_seq++;
  slot.digest = checked.digest;
  storage::KeyPackageRecord r;
  r.set_data(std::move(package.data));
  r.set_last_resort(package.last_resort);
  if (package.last_resort) r.set_ref(checked.ref);
  batch.put_key_package(actor, slot.seq, r);
  digests_.insert(slot.digest);
  if (!package.last_resort) {
    device.packages.push_back(slot);
    return;
  }
  if (device.last_resort) {  // A new last-resort package replaces the old one, ref and all.
    batch.delete_key_package(actor, device.last_resort->seq);
    digests_.erase(device.last_resort->digest);
    if (!device.last_resort->ref.empty()) {
      batch.delete_package_ref(device.last_resort->ref);
      state.package_refs.erase(device.last_resort->ref);
    }
  }
  slot.ref = std::move(checked.ref);
  device.last_resort = slot;
}

void KeyPackages::upload(DeviceId actor, std::vector<KeyPackageUpload> packages,
                         Done<uint32_t> done) {
  const DeviceState* known = identity_.device(actor);
  if (!known) return done(make_error(Errc::kNotAuthenticated, "unknown device"));
  DevicePackages* device = &ctx_.state.device_packages[actor];
  auto checked = check_upload(*known, *device, packages);
  if (!checked) return done(std::move(checked).error());
  auto batch = ctx_.store.batch();
  for (const auto& c : *checked) {
    if (ctx_.state.mls_keys.emplace(c.signature_key, actor).second) {
      batch.put_mls_key(c.signature_key, actor);
    }
    device->mls_signature_key = c.signature_key;
  }
  for (size_t i = 0; i < packages.size(); ++i) {
    store(actor, *device, std::move(packages[i]), std::move((*checked)[i]), batch);
  }
  const auto stored = static_cast<uint32_t>(device->packages.size());
  ctx_.committer.submit(std::move(batch), [stored, done](const Status& s) {
    if (!s) return done(s.error());
    done(stored);
  });
}

void KeyPackages::fetch(DeviceId actor, std::string_view handle_in, Done<FetchedKeyPackages> done) {
  auto& state = ctx_.state;
  auto handle = normalize_handle(handle_in);
  if (!handle) return done(std::move(handle).error());
  const AccountState* account = identity_.account_by_key(handle->key);
  if (!account) return done(make_error(Errc::kNotFound, "no account has this handle"));

  FetchedKeyPackages out{identity_.view(*account), {}};
  auto batch = ctx_.store.batch();
  std::vector<std::pair<DeviceId, uint32_t>> low;
  for (DeviceId id : account->devices) {
    if (!identity_.device(id) || id == actor) continue;  // A device never adds itself.
    DevicePackages* device = state.packages(id);
    FetchedKeyPackage fetched{id, {}, false};
    std::optional<KeyPackageSlot> slot;
    if (device && !device->packages.empty()) {
      slot = device->packages.front();
    } else if (device && device->last_resort) {
      slot = device->last_resort;
      fetched.last_resort = true;
    }
    if (slot) {
      auto record = ctx_.store.read_key_package(id, slot->seq);
      if (!record) return done(std::move(record).error());
      fetched.data = std::move(*record->mutable_data());
    }
    if (slot && !fetched.last_resort) {
      device->packages.erase(device->packages.begin());
      // Its digest stays known, so that the same package cannot be uploaded and handed out again.
      batch.delete_key_package(id, slot->seq);
      batch.put_used_key_package(slot->digest);
      if (device->packages.size() < ctx_.config.max_key_packages / 4) {
        low.emplace_back(id, static_cast<uint32_t>(device->packages.size()));
      }
    }
    out.packages.push_back(std::move(fetched));
  }
  ctx_.committer.submit(std::move(batch), [out = std::move(out), low = std::move(low), done,
                                           this](const Status& s) mutable {
    if (!s) return done(s.error());
    done(std::move(out));
    if (low_stock_) {
      for (auto [device, stored] : low) low_stock_(device, stored);
    }
  });
}

KeyPackageCount KeyPackages::count(DeviceId actor) const {
  const DevicePackages* device = ctx_.state.packages(actor);
  if (!identity_.device(actor) || !device) return {};
  return {static_cast<uint32_t>(device->packages.size()), device->last_resort.has_value()};
}

}  // namespace cercle::domain

// KeyPackages: the stock of MLS KeyPackages each device leaves on the server so that others can add
// it to a conversation while it is offline. Packages are opaque here. Each one is handed out once,
// except the device's last-resort package, handed out whenever nothing else is left; a package
// handed out can never be uploaded again. Owns the digests of every package stored or handed out.
// Lives on the domain's thread; not thread-safe. Callbacks run on that thread.
#pragma once

#include <functional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "server/domain/identity.h"
#include "server/domain/state.h"

namespace cercle::domain {

class KeyPackages {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;
  // Told when a device's stock fell under a quarter of the limit, so it can be asked for more.
  using LowStock = std::function<void(DeviceId, uint32_t stored)>;

  KeyPackages(Context ctx, const Identity& identity, LowStock low_stock)
      : ctx_(ctx), identity_(identity), low_stock_(std::move(low_stock)) {}

  // Learns the digests of the packages stored (from the loaded devices) and handed out; call once
  // at start-up, after State::load. Errors: kInternal (a read failed).
  [[nodiscard]] Status load();

  // Stores packages for the actor's device, all or none; returns the new count once durable. Each
  // must be a valid MLS KeyPackage whose credential is the account's handle and whose signature key
  // no other device uses: the relay then knows which device a leaf with that key is.
  // Errors: kInvalidArgument (not a valid KeyPackage, wrong credential, another device's key,
  // empty, oversized, several last-resort), kDuplicateKeyPackage, kKeyPackageLimit.
  void upload(DeviceId actor, std::vector<KeyPackageUpload> packages, Done<uint32_t> done);

  // Takes one package for each device of the account with this handle; answers once the taken
  // packages are durably deleted, so a crash cannot hand one out twice. Errors: kInvalidHandle,
  // kNotFound.
  void fetch(DeviceId actor, std::string_view handle, Done<FetchedKeyPackages> done);

  // Returns the actor's stock.
  KeyPackageCount count(DeviceId actor) const;

 private:
  Result<mls_checks::KeyPackageFacts> check_package(std::string_view data,
                                                    const DeviceState& device) const;
  // What upload learnt of one package it checked.
  struct Checked {
    uint64_t digest = 0;
    std::string ref;
    std::string signature_key;
  };
  // Checks an upload as a whole (sizes, duplicates, each package, the limits): errors as upload.
  Result<std::vector<Checked>> check_upload(const DeviceState& device, const DevicePackages& stock,
                                            const std::vector<KeyPackageUpload>& packages) const;
  // Stores one checked package, in memory and in `batch`.
  void store(DeviceId actor, DevicePackages& device, KeyPackageUpload package, Checked checked,
             storage::WriteBatch& batch);

  Context ctx_;
  const Identity& identity_;
  LowStock low_stock_;
  // Digests of every key package stored or ever handed out: none is accepted twice.
  std::unordered_set<uint64_t> digests_;
};

}  // namespace cercle::domain

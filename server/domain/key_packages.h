// KeyPackages: the stock of MLS KeyPackages each device leaves on the server so that others can add
// it to a conversation while it is offline. Packages are opaque here. Each one is handed out once,
// except the device's last-resort package, handed out whenever nothing else is left; a package
// handed out can never be uploaded again.
//
// Owns, in memory and their records: each device's package slots, the MLS signature key each
// device signs its leaves with (and the reverse index), the KeyPackageRefs of the packages it
// accepted (a commit may only add those) and the digests of every package stored or handed out.
// Every change is staged in a Change (change.h), so memory and disk move together; other services
// read through the const accessors and stage their changes through the functions below.
// Lives on the domain's thread; not thread-safe. Callbacks run on that thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/domain/identity.h"
#include "server/domain/mls_checks.h"

namespace cercle::domain {

struct KeyPackageSlot {
  uint64_t seq = 0;     // Storage key within the device.
  uint64_t digest = 0;  // First 8 bytes of the package's SHA-256, to refuse duplicates.
  std::string ref;      // Its KeyPackageRef (last-resort packages; may be empty in old data).
};

// A device's key packages and the MLS key it signs its leaves with.
struct DevicePackages {
  std::vector<KeyPackageSlot> packages;  // Oldest first.
  std::optional<KeyPackageSlot> last_resort;
  uint64_t next_package_seq = 1;
  // Signs its MLS leaves: its mls_key in the account's device chain, or else bound by its first
  // KeyPackage (accounts without a chain).
  std::string mls_signature_key;
};

class KeyPackages {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;
  // Told when a device's stock fell under a quarter of the limit, so it can be asked for more.
  using LowStock = std::function<void(DeviceId, uint32_t stored)>;

  // The uploader of a package the relay accepted, by its KeyPackageRef.
  struct PackageRef {
    DeviceId device = 0;
    bool last_resort = false;
    bool used = false;  // A commit added it (last-resort packages may be added again).
  };

  KeyPackages(Context ctx, const Identity& identity, LowStock low_stock)
      : ctx_(ctx), identity_(identity), low_stock_(std::move(low_stock)) {}

  // Reads the stored packages, their refs, the devices' MLS keys and the digests of the packages
  // handed out; call once at start-up, after Identity::load. Errors: kInternal (a read failed, or
  // a package of no device).
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

  // What the other services read. The MLS key the device signs its leaves with ("" if none bound).
  std::string_view mls_signature_key(DeviceId device) const;
  // The device that signs with this MLS key, 0 if none.
  DeviceId mls_key_owner(const std::string& key) const;
  // The package with this KeyPackageRef, or null when the relay never accepted it.
  const PackageRef* package_ref(const std::string& ref) const;
  // Packages stored, last-resort ones included, for the instance admin's counts.
  size_t stored() const;

  // Changes the other services stage in their Change. Binds `key` to `device` as the MLS key its
  // device link names (Identity, at registration and when a device is added).
  void bind_mls_key(Change& change, const std::string& key, DeviceId device);
  // A commit added the package `ref`: unless it is a last-resort package, it adds no one again.
  void mark_used(Change& change, const std::string& ref);
  // Forgets every package of these devices, and their refs (their account's type changed: the
  // packages declare the old one).
  void forget_devices(Change& change, const std::vector<DeviceId>& devices);
  // Forgets these devices altogether, their MLS keys included (their deleted account's last
  // records go: account_deletion.cpp).
  void forget_mls_keys(Change& change, const std::vector<DeviceId>& devices);

 private:
  Status load_packages();
  const DevicePackages* packages_of(DeviceId device) const;
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
  // Adds one checked package to `stock` (the device's, as the change will leave it) and stages its
  // records and its ref and digest in `change`.
  void store(DeviceId actor, DevicePackages& stock, KeyPackageUpload package, Checked checked,
             Change& change);
  // Takes the package `fetch` hands out of the device's stock (null: none); stages its removal
  // unless it is the last-resort one. Errors: kInternal (the read failed).
  Result<FetchedKeyPackage> take(DeviceId device, Change& change,
                                 std::vector<std::pair<DeviceId, uint32_t>>& low);

  Context ctx_;
  const Identity& identity_;
  LowStock low_stock_;
  std::unordered_map<DeviceId, DevicePackages> devices_;
  // MLS signature key -> the device that signs with it.
  std::unordered_map<std::string, DeviceId> mls_keys_;
  // KeyPackageRef -> the package's uploader: a commit may only add packages the relay accepted.
  std::unordered_map<std::string, PackageRef> refs_;
  // Digests of every key package stored or ever handed out: none is accepted twice.
  std::unordered_set<uint64_t> digests_;
};

}  // namespace cercle::domain

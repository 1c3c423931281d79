// What store.cpp, store_batch.cpp and store_scans.cpp share: the column families and RocksDB
// helpers. Private to server/storage; thread-compatible constants and free functions.
#pragma once

#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "server/common/result.h"

namespace cercle::storage::internal {

// Column family order; index 0 is RocksDB's default family, used for metadata.
enum Cf : int {
  kMeta = 0,
  kAccounts,
  kDevices,
  kConversations,
  kMembers,
  kLog,
  kCursors,
  kKeyPackages,
  kRegCodes,
  kContactLinks,
  kUsedPackages,
  kMlsKeys,
  kPackageRefs,
  kInvitations,
  kAdminReports,
  kSealedReports,
  kPublicGroups,
  kDeletedHandles,
  kPushSubscriptions,
  kCfCount
};
inline constexpr const char* kCfNames[kCfCount] = {
    "default",           "accounts",      "devices",
    "conversations",     "members",       "log",
    "cursors",           "key_packages",  "reg_codes",
    "contact_links",     "used_packages", "mls_keys",
    "package_refs",      "invitations",   "admin_reports",
    "sealed_reports",    "public_groups", "deleted_handles",
    "push_subscriptions"};

inline constexpr std::string_view kSchemaKey = "schema_version";
inline constexpr std::string_view kInstanceKey = "instance_id";

inline Error db_error(std::string_view what, const rocksdb::Status& s) {
  return make_error(Errc::kInternal, std::string(what) + ": " + s.ToString());
}

inline rocksdb::Slice slice(std::string_view v) { return {v.data(), v.size()}; }

}  // namespace cercle::storage::internal

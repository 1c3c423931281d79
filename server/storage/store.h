// Store: the server's durable state in an embedded RocksDB, one column family per record kind.
//
// Key layout (big-endian integers, so byte order is numeric order):
//   meta           "schema_version" -> u32, "instance_id" -> 16 random bytes
//   accounts       account_id(8)                  -> AccountRecord
//   devices        device_id(8)                   -> DeviceRecord
//   conversations  conv_id(16)                    -> ConversationRecord
//   members        conv_id(16) device_id(8)       -> MemberRecord
//   log            conv_id(16) seq(8)             -> LogRecord   (uncompressed: ciphertext)
//   cursors        device_id(8) conv_id(16)       -> seq(8)
//   key_packages   device_id(8) package_seq(8)    -> KeyPackageRecord
//   reg_codes      sha256(code)(32)               -> RegistrationCodeRecord
//   contact_links  token                          -> ContactLinkRecord
//   used_packages  digest(8)                      -> empty: key packages handed out, never again
//   mls_keys       MLS signature key              -> device_id(8): which device signs as that leaf
//   package_refs   KeyPackageRef                  -> PackageRefRecord
//   invitations    conv_id(16) nonce              -> InvitationRecord
//   admin_reports  id(8)                          -> AdminReportRecord
//   sealed_reports device_id(8) id(8)             -> SealedReportRecord: for a facilitator device
//   public_groups  conv_id(16)                    -> PublicGroupRecord: the MLS group's public
//   state
//   deleted_handles sha256(handle key)(32)         -> DeletedHandleRecord: a deleted account's
//   handle
//   push_subscriptions device_id(8)               -> PushSubscriptionRecord: its Web Push
//   subscription
// One conversation's log is one contiguous key range, read with a prefix scan.
//
// Threads: reads may run on any thread at the same time as writes. Writes go through WriteBatch and
// Store::write, which the GroupCommitter calls from its own thread. The Store outlives both.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/common/ids.h"
#include "server/common/result.h"
#include "server/storage/records.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace cercle::storage {

// Version of the records and key layout. Start-up runs the migrations from the folder's version to
// this one (store_migrations.cpp) and refuses a folder written by a newer version.
inline constexpr uint32_t kSchemaVersion = 4;

struct StoreOptions {
  std::string path;
  bool create_if_missing = true;
};

struct LogEntry {
  uint64_t seq = 0;
  LogRecord record;
};

// A set of changes applied atomically by Store::write. Made by Store::batch(); must not outlive the
// Store. Movable, not copyable.
class WriteBatch {
 public:
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void put_account(const AccountRecord& r);
  void put_device(const DeviceRecord& r);
  void put_conversation(const ConvId& id, const ConversationRecord& r);
  void put_member(const ConvId& conv, DeviceId device, const MemberRecord& r);
  void delete_member(const ConvId& conv, DeviceId device);
  void append_log(const ConvId& conv, uint64_t seq, const LogRecord& r);
  void put_cursor(DeviceId device, const ConvId& conv, uint64_t seq);
  void delete_cursor(DeviceId device, const ConvId& conv);
  void put_key_package(DeviceId device, uint64_t package_seq, const KeyPackageRecord& r);
  void delete_key_package(DeviceId device, uint64_t package_seq);
  void put_registration_code(std::string_view code_hash, const RegistrationCodeRecord& r);
  void put_contact_link(std::string_view token, const ContactLinkRecord& r);
  void delete_contact_link(std::string_view token);
  void put_used_key_package(uint64_t digest);
  void put_mls_key(std::string_view signature_key, DeviceId device);
  void put_package_ref(std::string_view ref, const PackageRefRecord& r);
  void delete_package_ref(std::string_view ref);
  void put_invitation(const ConvId& conv, std::string_view nonce, const InvitationRecord& r);
  void delete_invitation(const ConvId& conv, std::string_view nonce);
  void put_admin_report(uint64_t id, const AdminReportRecord& r);
  void put_sealed_report(DeviceId device, uint64_t id, const SealedReportRecord& r);
  void delete_sealed_report(DeviceId device, uint64_t id);
  void put_public_group(const ConvId& conv, const PublicGroupRecord& r);
  // A deleted account's last records go; only its handle's hash stays taken.
  void delete_account(AccountId id);
  void delete_device(DeviceId id);
  void delete_mls_key(std::string_view signature_key);
  void put_deleted_handle(std::string_view handle_hash, const DeletedHandleRecord& r);
  void put_push_subscription(DeviceId device, const PushSubscriptionRecord& r);
  void delete_push_subscription(DeviceId device);
  // Erases one log entry (its ciphertext), or every entry with from <= seq < to.
  void delete_log(const ConvId& conv, uint64_t seq);
  void delete_log_range(const ConvId& conv, uint64_t from, uint64_t to);

  bool empty() const;
  size_t byte_size() const;

 private:
  friend class Store;
  explicit WriteBatch(const std::vector<rocksdb::ColumnFamilyHandle*>* cfs);
  void put(int cf, std::string_view key, const google::protobuf::MessageLite& value);

  const std::vector<rocksdb::ColumnFamilyHandle*>* cfs_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

class Store {
 public:
  // Opens (or creates) the database at options.path. Errors: kInternal when RocksDB cannot open it
  // (message says why, e.g. locked by a running server), or when its schema version is newer than
  // kSchemaVersion.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The instance's random id, created with the database. Stable for the store's life.
  const std::string& instance_id() const { return instance_id_; }

  // Start-up scans: call `visit` once per record, in key order.
  Status scan_accounts(const std::function<void(const AccountRecord&)>& visit) const;
  Status scan_devices(const std::function<void(const DeviceRecord&)>& visit) const;
  Status scan_conversations(
      const std::function<void(const ConvId&, const ConversationRecord&)>& visit) const;
  Status scan_members(
      const std::function<void(const ConvId&, DeviceId, const MemberRecord&)>& visit) const;
  Status scan_cursors(const std::function<void(DeviceId, const ConvId&, uint64_t)>& visit) const;
  Status scan_key_packages(
      const std::function<void(DeviceId, uint64_t, const KeyPackageRecord&)>& visit) const;
  Status scan_registration_codes(
      const std::function<void(std::string_view, const RegistrationCodeRecord&)>& visit) const;
  Status scan_invitations(const std::function<void(const ConvId&, std::string_view,
                                                   const InvitationRecord&)>& visit) const;
  Status scan_admin_reports(
      const std::function<void(uint64_t, const AdminReportRecord&)>& visit) const;
  Status scan_sealed_reports(
      const std::function<void(DeviceId, uint64_t, const SealedReportRecord&)>& visit) const;
  Status scan_public_groups(
      const std::function<void(const ConvId&, const PublicGroupRecord&)>& visit) const;
  // Compacts a conversation's log range [from, to) so that erased entries leave the disk, not only
  // the index. Runs on the store's maintenance thread: returns at once. Safe on any thread.
  void compact_log(const ConvId& conv, uint64_t from, uint64_t to);
  // How many compaction requests have completed (for tests and metrics).
  uint64_t compactions_done() const;
  Status scan_package_refs(
      const std::function<void(std::string_view, const PackageRefRecord&)>& visit) const;
  Status scan_mls_keys(const std::function<void(std::string_view, DeviceId)>& visit) const;
  Status scan_used_key_packages(const std::function<void(uint64_t digest)>& visit) const;
  Status scan_contact_links(
      const std::function<void(std::string_view, const ContactLinkRecord&)>& visit) const;
  Status scan_deleted_handles(
      const std::function<void(std::string_view, const DeletedHandleRecord&)>& visit) const;
  Status scan_push_subscriptions(
      const std::function<void(DeviceId, const PushSubscriptionRecord&)>& visit) const;

  // Returns the highest sequence number in the conversation's log, 0 when empty.
  Result<uint64_t> last_log_seq(const ConvId& conv) const;

  // Returns entries with after_seq < seq <= upto_seq, in order: at most max_entries, and no more
  // than max_bytes of stored records, except that the first entry is returned whatever its size.
  Result<std::vector<LogEntry>> read_log(const ConvId& conv, uint64_t after_seq, uint64_t upto_seq,
                                         size_t max_entries, size_t max_bytes) const;

  // Returns one stored key package. kNotFound when absent.
  Result<KeyPackageRecord> read_key_package(DeviceId device, uint64_t package_seq) const;

  // Returns an empty batch for this store.
  WriteBatch batch() const { return WriteBatch(&cfs_); }

  // Applies the batch atomically; with sync, returns only once it is on stable storage.
  Status write(WriteBatch& batch, bool sync);
  // Makes every earlier write durable (fsync of the write-ahead log).
  Status sync_wal();

  struct BackupInfo {
    uint32_t id = 0;
    int64_t timestamp_s = 0;
    uint64_t size_bytes = 0;
  };
  // Adds a backup of the live database to the backup folder `dir` (created if needed; earlier
  // backups there share unchanged files). Everything written before the call is in it. With `keep`,
  // only the newest `keep` backups stay (erased data must not live on in old backups). Safe while
  // the server writes, from any thread. Errors: kInternal.
  Result<BackupInfo> create_backup(const std::string& dir, uint32_t keep = 0);
  // Checks the latest backup in `dir` against its checksums. Errors: kNotFound, kInternal.
  static Result<BackupInfo> verify_backup(const std::string& dir);
  // Restores the latest backup in `dir` into the empty or missing folder `target`.
  // Errors: kInvalidArgument (target not empty), kNotFound, kInternal.
  static Result<BackupInfo> restore_backup(const std::string& dir, const std::string& target);

  // A RocksDB integer property summed over the column families (e.g. "rocksdb.estimate-num-keys"),
  // 0 when unknown. Safe on any thread.
  uint64_t int_property(const std::string& name) const;

 private:
  Store() = default;
  Status init_meta();
  Status migrate(uint32_t from);

  void run_maintenance(std::stop_token stop);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::string instance_id_;
  // Compactions, off the callers' threads.
  std::mutex maintenance_mutex_;
  std::condition_variable_any maintenance_wake_;
  std::vector<std::pair<std::string, std::string>> compactions_;
  uint64_t compactions_requested_ = 0;
  std::atomic<uint64_t> compactions_done_{0};
  std::jthread maintenance_;  // Last: stopped and joined first.
};

}  // namespace cercle::storage

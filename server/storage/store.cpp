#include "server/storage/store.h"

#include <sodium.h>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "server/storage/keys.h"
#include "server/storage/store_internal.h"

namespace cercle::storage {

using namespace internal;

namespace {

rocksdb::ColumnFamilyOptions family_options(int cf) {
  rocksdb::ColumnFamilyOptions o;
  // Small memtables: an association's instance runs on a small machine.
  o.write_buffer_size = (cf == kLog) ? 32 << 20 : 4 << 20;
  // Ciphertext does not compress; metadata is tiny. Compression would only cost CPU.
  o.compression = rocksdb::kNoCompression;
  if (cf == kLog || cf == kMembers) {
    o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
  }
  return o;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 3;
  db_options.max_log_file_size = 4 << 20;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int cf = 0; cf < kCfCount; ++cf) descriptors.emplace_back(kCfNames[cf], family_options(cf));

  std::unique_ptr<Store> store(new Store());
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, descriptors, &store->cfs_, &raw);
  if (!s.ok()) return db_error("cannot open the data folder " + options.path, s);
  store->db_.reset(raw);
  if (auto meta = store->init_meta(); !meta) return std::move(meta).error();
  store->maintenance_ =
      std::jthread([s = store.get()](std::stop_token stop) { s->run_maintenance(stop); });
  return store;
}

Store::~Store() {
  if (maintenance_.joinable()) {
    maintenance_.request_stop();
    maintenance_.join();
  }
  if (!db_) return;
  for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
  db_->Close();
}

Status Store::init_meta() {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], slice(kSchemaKey), &value);
  rocksdb::WriteBatch batch;
  if (s.IsNotFound()) {
    char id[16];
    randombytes_buf(id, sizeof id);
    instance_id_.assign(id, sizeof id);
    batch.Put(cfs_[kMeta], slice(kSchemaKey), slice(keys::u32(kSchemaVersion)));
    batch.Put(cfs_[kMeta], slice(kInstanceKey), slice(instance_id_));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Write(wo, &batch);
    if (!s.ok()) return db_error("cannot initialise the data folder", s);
    return Ok{};
  }
  if (!s.ok()) return db_error("cannot read the schema version", s);
  const uint32_t version = keys::read_u32(value);
  if (version > kSchemaVersion) {
    return make_error(Errc::kInternal,
                      "the data folder has schema version " + std::to_string(version) +
                          ", newer than this server knows (" + std::to_string(kSchemaVersion) +
                          "): run a newer cercle-server");
  }
  if (auto migrated = migrate(version); !migrated) return migrated;
  s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], slice(kInstanceKey), &instance_id_);
  if (!s.ok()) return db_error("cannot read the instance id", s);
  return Ok{};
}

// Migrations, one per schema version: kMigrations[v - 1] turns a version-v folder into version
// v + 1, in one synced batch with the new version number, so a crash leaves either version. A new
// version adds its function here and bumps kSchemaVersion.
//
// 1 -> 2: the public_groups family (created empty at open). Conversations of a version-1 folder
// have no public group: the relay does not verify their handshake signatures (it cannot learn
// their state without trusting one member's word for it). Bumping the version keeps an older
// server, which would not open the new family, from starting on the folder.
static Status migrate_1_to_2(Store&, rocksdb::WriteBatch&) { return Ok{}; }
// 2 -> 3: the deleted_handles family (created empty at open): no account was deleted before.
static Status migrate_2_to_3(Store&, rocksdb::WriteBatch&) { return Ok{}; }
// 3 -> 4: the push_subscriptions family (created empty at open): no device had subscribed.
static Status migrate_3_to_4(Store&, rocksdb::WriteBatch&) { return Ok{}; }

Status Store::migrate(uint32_t from) {
  using Migration = Status (*)(Store&, rocksdb::WriteBatch&);
  static constexpr Migration kMigrations[] = {migrate_1_to_2, migrate_2_to_3, migrate_3_to_4};
  for (uint32_t v = from; v < kSchemaVersion; ++v) {
    rocksdb::WriteBatch batch;
    if (auto s = kMigrations[v - 1](*this, batch); !s) return s;
    batch.Put(cfs_[kMeta], slice(kSchemaKey), slice(keys::u32(v + 1)));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (auto s = db_->Write(wo, &batch); !s.ok()) return db_error("migration failed", s);
  }
  return Ok{};
}

void Store::compact_log(const ConvId& conv, uint64_t from, uint64_t to) {
  {
    std::lock_guard lock(maintenance_mutex_);
    compactions_.push_back({keys::conv_u64(conv, from), keys::conv_u64(conv, to)});
    ++compactions_requested_;
  }
  maintenance_wake_.notify_one();
}

uint64_t Store::compactions_done() const { return compactions_done_.load(); }

// Erased entries leave the disk only once no file holds them any more: the memtables are flushed
// (of every family, so that the write-ahead log files that still hold the entries become obsolete
// and are deleted), then the range is compacted down to the last level, where range tombstones
// drop what they cover.
void Store::run_maintenance(std::stop_token stop) {
  std::unique_lock lock(maintenance_mutex_);
  for (;;) {
    maintenance_wake_.wait(lock, stop, [&] { return !compactions_.empty(); });
    if (stop.stop_requested()) return;
    auto ranges = std::move(compactions_);
    compactions_.clear();
    lock.unlock();
    rocksdb::FlushOptions flush;
    flush.allow_write_stall = true;
    db_->Flush(flush, cfs_);
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (const auto& [begin, end] : ranges) {
      rocksdb::Slice b = slice(begin), e = slice(end);
      db_->CompactRange(options, cfs_[kLog], &b, &e);
    }
    lock.lock();
    compactions_done_ += ranges.size();
  }
}

Result<uint64_t> Store::last_log_seq(const ConvId& conv) const {
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kLog]));
  const std::string upper = keys::conv_u64(conv, UINT64_MAX);
  it->SeekForPrev(slice(upper));
  if (!it->status().ok()) return db_error("read log head", it->status());
  if (!it->Valid()) return uint64_t{0};
  ConvId found;
  uint64_t seq;
  std::string_view key(it->key().data(), it->key().size());
  if (!keys::parse_conv_u64(key, found, seq)) return make_error(Errc::kInternal, "corrupt log key");
  return found == conv ? seq : 0;
}

Result<std::vector<LogEntry>> Store::read_log(const ConvId& conv, uint64_t after_seq,
                                              uint64_t upto_seq, size_t max_entries,
                                              size_t max_bytes) const {
  std::vector<LogEntry> out;
  if (after_seq >= upto_seq || max_entries == 0) return out;
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  const std::string upper = keys::conv_u64(conv, upto_seq + 1);
  rocksdb::Slice upper_slice = slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kLog]));
  size_t bytes = 0;
  for (it->Seek(slice(keys::conv_u64(conv, after_seq + 1)));
       it->Valid() && out.size() < max_entries; it->Next()) {
    ConvId found;
    LogEntry entry;
    std::string_view key(it->key().data(), it->key().size());
    if (!keys::parse_conv_u64(key, found, entry.seq) || found != conv) break;
    if (!out.empty() && bytes + it->value().size() > max_bytes) break;
    if (!entry.record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return make_error(Errc::kInternal, "corrupt log record");
    }
    bytes += it->value().size();
    out.push_back(std::move(entry));
  }
  if (!it->status().ok()) return db_error("read log", it->status());
  return out;
}

Result<KeyPackageRecord> Store::read_key_package(DeviceId device, uint64_t package_seq) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cfs_[kKeyPackages],
                    slice(keys::u64_u64(device, package_seq)), &value);
  if (s.IsNotFound()) return make_error(Errc::kNotFound, "no such key package");
  if (!s.ok()) return db_error("read key package", s);
  KeyPackageRecord record;
  if (!record.ParseFromString(value)) return make_error(Errc::kInternal, "corrupt key package");
  return record;
}

Status Store::write(WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto s = db_->Write(wo, batch.batch_.get());
  if (!s.ok()) return db_error("write", s);
  return Ok{};
}

namespace {

Result<std::unique_ptr<rocksdb::BackupEngine>> open_backups(const std::string& dir) {
  rocksdb::BackupEngine* raw = nullptr;
  rocksdb::BackupEngineOptions options(dir);
  options.sync = true;  // A backup that says it is done is on disk.
  auto s = rocksdb::BackupEngine::Open(rocksdb::Env::Default(), options, &raw);
  if (!s.ok()) return db_error("cannot open the backup folder " + dir, s);
  return std::unique_ptr<rocksdb::BackupEngine>(raw);
}

Result<Store::BackupInfo> latest(rocksdb::BackupEngine& engine, const std::string& dir) {
  std::vector<rocksdb::BackupInfo> infos;
  engine.GetBackupInfo(&infos);
  if (infos.empty()) return make_error(Errc::kNotFound, "no backup in " + dir);
  const auto& last = infos.back();
  return Store::BackupInfo{last.backup_id, last.timestamp, last.size};
}

}  // namespace

Result<Store::BackupInfo> Store::create_backup(const std::string& dir, uint32_t keep) {
  auto engine = open_backups(dir);
  if (!engine) return std::move(engine).error();
  rocksdb::CreateBackupOptions options;
  // Memtables are flushed first, so the backup holds every acknowledged write in table files.
  options.flush_before_backup = true;
  auto s = (*engine)->CreateNewBackup(options, db_.get());
  if (!s.ok()) return db_error("backup failed", s);
  if (keep > 0) {
    s = (*engine)->PurgeOldBackups(keep);
    if (!s.ok()) return db_error("removing old backups failed", s);
  }
  return latest(**engine, dir);
}

Result<Store::BackupInfo> Store::verify_backup(const std::string& dir) {
  if (!std::filesystem::exists(dir)) return make_error(Errc::kNotFound, "no backup folder " + dir);
  auto engine = open_backups(dir);
  if (!engine) return std::move(engine).error();
  auto info = latest(**engine, dir);
  if (!info) return info;
  auto s = (*engine)->VerifyBackup(info->id, /*verify_with_checksum=*/true);
  if (!s.ok()) return db_error("the backup does not verify", s);
  return info;
}

Result<Store::BackupInfo> Store::restore_backup(const std::string& dir, const std::string& target) {
  std::error_code ec;
  if (std::filesystem::exists(target, ec) && !std::filesystem::is_empty(target, ec)) {
    return make_error(Errc::kInvalidArgument, "the restore folder " + target + " is not empty");
  }
  if (!std::filesystem::exists(dir)) return make_error(Errc::kNotFound, "no backup folder " + dir);
  auto engine = open_backups(dir);
  if (!engine) return std::move(engine).error();
  auto info = latest(**engine, dir);
  if (!info) return info;
  auto s = (*engine)->RestoreDBFromLatestBackup(target, target);
  if (!s.ok()) return db_error("restore failed", s);
  return info;
}

uint64_t Store::int_property(const std::string& name) const {
  uint64_t total = 0;
  for (auto* cf : cfs_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(cf, name, &v)) total += v;
  }
  return total;
}

Status Store::sync_wal() {
  auto s = db_->SyncWAL();
  if (!s.ok()) return db_error("sync", s);
  return Ok{};
}

}  // namespace cercle::storage

#include "server/storage/store.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include "server/storage/keys.h"
#include "server/storage/store_internal.h"

namespace cercle::storage {

using namespace internal;

namespace {

template <class Record, class Visit>
Status scan(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, Visit&& visit) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // Whole-family scan across prefixes.
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro, cf));
  Record record;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return make_error(Errc::kInternal, "corrupt record in " + cf->GetName());
    }
    if (!visit(std::string_view(it->key().data(), it->key().size()), record)) {
      return make_error(Errc::kInternal, "corrupt key in " + cf->GetName());
    }
  }
  if (!it->status().ok()) return db_error("scan " + cf->GetName(), it->status());
  return Ok{};
}

}  // namespace

Status Store::scan_accounts(const std::function<void(const AccountRecord&)>& visit) const {
  return scan<AccountRecord>(*db_, cfs_[kAccounts], [&](std::string_view, const auto& r) {
    visit(r);
    return true;
  });
}

Status Store::scan_devices(const std::function<void(const DeviceRecord&)>& visit) const {
  return scan<DeviceRecord>(*db_, cfs_[kDevices], [&](std::string_view, const auto& r) {
    visit(r);
    return true;
  });
}

Status Store::scan_conversations(
    const std::function<void(const ConvId&, const ConversationRecord&)>& visit) const {
  return scan<ConversationRecord>(*db_, cfs_[kConversations],
                                  [&](std::string_view k, const auto& r) {
                                    ConvId id;
                                    if (!ConvId::parse(k, id)) return false;
                                    visit(id, r);
                                    return true;
                                  });
}

Status Store::scan_members(
    const std::function<void(const ConvId&, DeviceId, const MemberRecord&)>& visit) const {
  return scan<MemberRecord>(*db_, cfs_[kMembers], [&](std::string_view k, const auto& r) {
    ConvId conv;
    uint64_t device;
    if (!keys::parse_conv_u64(k, conv, device)) return false;
    visit(conv, device, r);
    return true;
  });
}

Status Store::scan_cursors(
    const std::function<void(DeviceId, const ConvId&, uint64_t)>& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kCursors]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    DeviceId device;
    ConvId conv;
    std::string_view key(it->key().data(), it->key().size());
    if (!keys::parse_u64_conv(key, device, conv) || it->value().size() != 8) {
      return make_error(Errc::kInternal, "corrupt cursor record");
    }
    visit(device, conv, keys::read_u64(std::string_view(it->value().data(), 8)));
  }
  if (!it->status().ok()) return db_error("scan cursors", it->status());
  return Ok{};
}

Status Store::scan_key_packages(
    const std::function<void(DeviceId, uint64_t, const KeyPackageRecord&)>& visit) const {
  return scan<KeyPackageRecord>(*db_, cfs_[kKeyPackages], [&](std::string_view k, const auto& r) {
    uint64_t device, seq;
    if (!keys::parse_u64_u64(k, device, seq)) return false;
    visit(device, seq, r);
    return true;
  });
}

Status Store::scan_registration_codes(
    const std::function<void(std::string_view, const RegistrationCodeRecord&)>& visit) const {
  return scan<RegistrationCodeRecord>(*db_, cfs_[kRegCodes],
                                      [&](std::string_view k, const auto& r) {
                                        visit(k, r);
                                        return true;
                                      });
}

Status Store::scan_invitations(const std::function<void(const ConvId&, std::string_view,
                                                        const InvitationRecord&)>& visit) const {
  return scan<InvitationRecord>(*db_, cfs_[kInvitations], [&](std::string_view k, const auto& r) {
    ConvId conv;
    if (k.size() < 16 || !ConvId::parse(k.substr(0, 16), conv)) return false;
    visit(conv, k.substr(16), r);
    return true;
  });
}

Status Store::scan_admin_reports(
    const std::function<void(uint64_t, const AdminReportRecord&)>& visit) const {
  return scan<AdminReportRecord>(*db_, cfs_[kAdminReports], [&](std::string_view k, const auto& r) {
    if (k.size() != 8) return false;
    visit(keys::read_u64(k), r);
    return true;
  });
}

Status Store::scan_sealed_reports(
    const std::function<void(DeviceId, uint64_t, const SealedReportRecord&)>& visit) const {
  return scan<SealedReportRecord>(
      *db_, cfs_[kSealedReports], [&](std::string_view k, const auto& r) {
        if (k.size() != 16) return false;
        visit(keys::read_u64(k.substr(0, 8)), keys::read_u64(k.substr(8)), r);
        return true;
      });
}

Status Store::scan_public_groups(
    const std::function<void(const ConvId&, const PublicGroupRecord&)>& visit) const {
  return scan<PublicGroupRecord>(*db_, cfs_[kPublicGroups], [&](std::string_view k, const auto& r) {
    ConvId conv;
    if (!ConvId::parse(k, conv)) return false;
    visit(conv, r);
    return true;
  });
}

Status Store::scan_package_refs(
    const std::function<void(std::string_view, const PackageRefRecord&)>& visit) const {
  return scan<PackageRefRecord>(*db_, cfs_[kPackageRefs], [&](std::string_view k, const auto& r) {
    visit(k, r);
    return true;
  });
}

Status Store::scan_mls_keys(const std::function<void(std::string_view, DeviceId)>& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kMlsKeys]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->value().size() != 8) return make_error(Errc::kInternal, "corrupt MLS key record");
    visit(std::string_view(it->key().data(), it->key().size()),
          keys::read_u64(std::string_view(it->value().data(), 8)));
  }
  if (!it->status().ok()) return db_error("scan MLS keys", it->status());
  return Ok{};
}

Status Store::scan_used_key_packages(const std::function<void(uint64_t)>& visit) const {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kUsedPackages]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8)
      return make_error(Errc::kInternal, "corrupt used key package record");
    visit(keys::read_u64(std::string_view(it->key().data(), 8)));
  }
  if (!it->status().ok()) return db_error("scan used key packages", it->status());
  return Ok{};
}

Status Store::scan_contact_links(
    const std::function<void(std::string_view, const ContactLinkRecord&)>& visit) const {
  return scan<ContactLinkRecord>(*db_, cfs_[kContactLinks], [&](std::string_view k, const auto& r) {
    visit(k, r);
    return true;
  });
}

Status Store::scan_deleted_handles(
    const std::function<void(std::string_view, const DeletedHandleRecord&)>& visit) const {
  return scan<DeletedHandleRecord>(*db_, cfs_[kDeletedHandles],
                                   [&](std::string_view k, const auto& r) {
                                     visit(k, r);
                                     return true;
                                   });
}

Status Store::scan_push_subscriptions(
    const std::function<void(DeviceId, const PushSubscriptionRecord&)>& visit) const {
  return scan<PushSubscriptionRecord>(*db_, cfs_[kPushSubscriptions],
                                      [&](std::string_view k, const auto& r) {
                                        if (k.size() != 8) return false;
                                        visit(keys::read_u64(k), r);
                                        return true;
                                      });
}

}  // namespace cercle::storage

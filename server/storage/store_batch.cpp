#include "server/storage/store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "server/storage/keys.h"
#include "server/storage/store_internal.h"

namespace cercle::storage {

using namespace internal;

WriteBatch::WriteBatch(const std::vector<rocksdb::ColumnFamilyHandle*>* cfs)
    : cfs_(cfs), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::put(int cf, std::string_view key, const google::protobuf::MessageLite& value) {
  batch_->Put((*cfs_)[cf], slice(key), value.SerializeAsString());
}

void WriteBatch::put_account(const AccountRecord& r) { put(kAccounts, keys::u64(r.id()), r); }
void WriteBatch::put_device(const DeviceRecord& r) { put(kDevices, keys::u64(r.id()), r); }
void WriteBatch::put_conversation(const ConvId& id, const ConversationRecord& r) {
  put(kConversations, id.view(), r);
}
void WriteBatch::put_member(const ConvId& conv, DeviceId device, const MemberRecord& r) {
  put(kMembers, keys::conv_u64(conv, device), r);
}
void WriteBatch::delete_member(const ConvId& conv, DeviceId device) {
  batch_->Delete((*cfs_)[kMembers], slice(keys::conv_u64(conv, device)));
}
void WriteBatch::append_log(const ConvId& conv, uint64_t seq, const LogRecord& r) {
  put(kLog, keys::conv_u64(conv, seq), r);
}
void WriteBatch::put_cursor(DeviceId device, const ConvId& conv, uint64_t seq) {
  batch_->Put((*cfs_)[kCursors], slice(keys::u64_conv(device, conv)), slice(keys::u64(seq)));
}
void WriteBatch::delete_cursor(DeviceId device, const ConvId& conv) {
  batch_->Delete((*cfs_)[kCursors], slice(keys::u64_conv(device, conv)));
}
void WriteBatch::put_key_package(DeviceId device, uint64_t package_seq, const KeyPackageRecord& r) {
  put(kKeyPackages, keys::u64_u64(device, package_seq), r);
}
void WriteBatch::delete_key_package(DeviceId device, uint64_t package_seq) {
  batch_->Delete((*cfs_)[kKeyPackages], slice(keys::u64_u64(device, package_seq)));
}
void WriteBatch::put_registration_code(std::string_view code_hash,
                                       const RegistrationCodeRecord& r) {
  put(kRegCodes, code_hash, r);
}
void WriteBatch::put_contact_link(std::string_view token, const ContactLinkRecord& r) {
  put(kContactLinks, token, r);
}
void WriteBatch::delete_contact_link(std::string_view token) {
  batch_->Delete((*cfs_)[kContactLinks], slice(token));
}
void WriteBatch::put_used_key_package(uint64_t digest) {
  batch_->Put((*cfs_)[kUsedPackages], slice(keys::u64(digest)), rocksdb::Slice());
}
void WriteBatch::delete_account(AccountId id) {
  batch_->Delete((*cfs_)[kAccounts], slice(keys::u64(id)));
}
void WriteBatch::delete_device(DeviceId id) {
  batch_->Delete((*cfs_)[kDevices], slice(keys::u64(id)));
}
void WriteBatch::delete_mls_key(std::string_view signature_key) {
  batch_->Delete((*cfs_)[kMlsKeys], slice(signature_key));
}
void WriteBatch::put_deleted_handle(std::string_view handle_hash, const DeletedHandleRecord& r) {
  put(kDeletedHandles, handle_hash, r);
}
void WriteBatch::put_push_subscription(DeviceId device, const PushSubscriptionRecord& r) {
  put(kPushSubscriptions, keys::u64(device), r);
}
void WriteBatch::delete_push_subscription(DeviceId device) {
  batch_->Delete((*cfs_)[kPushSubscriptions], slice(keys::u64(device)));
}
void WriteBatch::put_mls_key(std::string_view signature_key, DeviceId device) {
  batch_->Put((*cfs_)[kMlsKeys], slice(signature_key), slice(keys::u64(device)));
}
void WriteBatch::put_package_ref(std::string_view ref, const PackageRefRecord& r) {
  put(kPackageRefs, ref, r);
}
void WriteBatch::delete_package_ref(std::string_view ref) {
  batch_->Delete((*cfs_)[kPackageRefs], slice(ref));
}
void WriteBatch::put_invitation(const ConvId& conv, std::string_view nonce,
                                const InvitationRecord& r) {
  put(kInvitations, conv.str() + std::string(nonce), r);
}
void WriteBatch::delete_invitation(const ConvId& conv, std::string_view nonce) {
  batch_->Delete((*cfs_)[kInvitations], slice(conv.str() + std::string(nonce)));
}
void WriteBatch::put_admin_report(uint64_t id, const AdminReportRecord& r) {
  put(kAdminReports, keys::u64(id), r);
}
void WriteBatch::put_sealed_report(DeviceId device, uint64_t id, const SealedReportRecord& r) {
  put(kSealedReports, keys::u64_u64(device, id), r);
}
void WriteBatch::delete_sealed_report(DeviceId device, uint64_t id) {
  batch_->Delete((*cfs_)[kSealedReports], slice(keys::u64_u64(device, id)));
}
void WriteBatch::put_public_group(const ConvId& conv, const PublicGroupRecord& r) {
  put(kPublicGroups, conv.view(), r);
}
void WriteBatch::delete_log(const ConvId& conv, uint64_t seq) {
  batch_->Delete((*cfs_)[kLog], slice(keys::conv_u64(conv, seq)));
}
void WriteBatch::delete_log_range(const ConvId& conv, uint64_t from, uint64_t to) {
  batch_->DeleteRange((*cfs_)[kLog], slice(keys::conv_u64(conv, from)),
                      slice(keys::conv_u64(conv, to)));
}
bool WriteBatch::empty() const { return batch_->Count() == 0; }
size_t WriteBatch::byte_size() const { return batch_->GetDataSize(); }

}  // namespace cercle::storage

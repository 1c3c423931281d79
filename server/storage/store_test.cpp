#include "server/storage/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "server/storage/group_commit.h"

#include <rocksdb/db.h>

namespace cercle::storage {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cercle-store-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto r = Store::open({dir_.string()});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : nullptr;
  }

  static ConvId conv(uint8_t b) {
    ConvId id;
    id.bytes.fill(b);
    return id;
  }

  static LogRecord entry(std::string payload) {
    LogRecord r;
    r.set_kind(1);
    r.set_payload(std::move(payload));
    return r;
  }

  std::filesystem::path dir_;
};

TEST_F(StoreTest, InstanceIdSurvivesReopen) {
  std::string id;
  {
    auto store = open();
    ASSERT_TRUE(store);
    id = store->instance_id();
    EXPECT_EQ(id.size(), 16u);
  }
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->instance_id(), id);
}

TEST_F(StoreTest, LogIsReadInOrderWithinOneConversationOnly) {
  auto store = open();
  ASSERT_TRUE(store);
  auto batch = store->batch();
  for (uint64_t seq = 1; seq <= 5; ++seq)
    batch.append_log(conv(1), seq, entry("a" + std::to_string(seq)));
  for (uint64_t seq = 1; seq <= 3; ++seq) batch.append_log(conv(2), seq, entry("b"));
  ASSERT_TRUE(store->write(batch, true).ok());

  auto head = store->last_log_seq(conv(1));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, 5u);
  EXPECT_EQ(*store->last_log_seq(conv(2)), 3u);
  EXPECT_EQ(*store->last_log_seq(conv(3)), 0u);

  auto entries = store->read_log(conv(1), 1, 4, 100, 1 << 20);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);  // seq 2, 3, 4: after 1, up to 4.
  EXPECT_EQ((*entries)[0].seq, 2u);
  EXPECT_EQ((*entries)[2].seq, 4u);
  EXPECT_EQ((*entries)[2].record.payload(), "a4");

  auto limited = store->read_log(conv(1), 0, 5, 2, 1 << 20);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
  auto by_bytes = store->read_log(conv(1), 0, 5, 100, 1);
  ASSERT_TRUE(by_bytes.ok());
  EXPECT_EQ(by_bytes->size(), 1u);  // At least one entry even when it exceeds max_bytes.
  const size_t one = entry("a1").ByteSizeLong();
  EXPECT_EQ(store->read_log(conv(1), 0, 5, 100, 2 * one - 1)->size(), 1u);
  EXPECT_EQ(store->read_log(conv(1), 0, 5, 100, 2 * one)->size(), 2u);  // Never past max_bytes.
}

TEST_F(StoreTest, ScansReturnWhatWasWritten) {
  auto store = open();
  ASSERT_TRUE(store);
  auto batch = store->batch();
  AccountRecord account;
  account.set_id(42);
  account.set_handle("Écureuil");
  batch.put_account(account);
  MemberRecord member;
  member.set_join_seq(7);
  batch.put_member(conv(9), 1234, member);
  batch.put_cursor(1234, conv(9), 11);
  ASSERT_TRUE(store->write(batch, false).ok());

  std::vector<std::string> handles;
  ASSERT_TRUE(
      store->scan_accounts([&](const AccountRecord& r) { handles.push_back(r.handle()); }).ok());
  EXPECT_EQ(handles, std::vector<std::string>{"Écureuil"});

  int members = 0;
  ASSERT_TRUE(store
                  ->scan_members([&](const ConvId& c, DeviceId d, const MemberRecord& r) {
                    EXPECT_EQ(c, conv(9));
                    EXPECT_EQ(d, 1234u);
                    EXPECT_EQ(r.join_seq(), 7u);
                    ++members;
                  })
                  .ok());
  EXPECT_EQ(members, 1);
  uint64_t cursor = 0;
  ASSERT_TRUE(store->scan_cursors([&](DeviceId, const ConvId&, uint64_t s) { cursor = s; }).ok());
  EXPECT_EQ(cursor, 11u);
}

TEST_F(StoreTest, ADeletedContactLinkIsGoneAndTheOthersStay) {
  auto store = open();
  ASSERT_TRUE(store);
  ContactLinkRecord link;
  link.set_owner_account(7);
  auto batch = store->batch();
  batch.put_contact_link("kept-token", link);
  batch.put_contact_link("ended-token", link);
  ASSERT_TRUE(store->write(batch, false).ok());
  auto deletion = store->batch();
  deletion.delete_contact_link("ended-token");
  ASSERT_TRUE(store->write(deletion, false).ok());
  // A link written and deleted in one batch (revoked, then forgotten at once) is gone too.
  auto both = store->batch();
  both.put_contact_link("short-lived", link);
  both.delete_contact_link("short-lived");
  ASSERT_TRUE(store->write(both, false).ok());

  std::vector<std::string> tokens;
  ASSERT_TRUE(store
                  ->scan_contact_links([&](std::string_view token, const ContactLinkRecord& r) {
                    EXPECT_EQ(r.owner_account(), 7u);
                    tokens.emplace_back(token);
                  })
                  .ok());
  EXPECT_EQ(tokens, std::vector<std::string>{"kept-token"});
}

TEST_F(StoreTest, AFolderFromANewerSchemaIsRefusedClearly) {
  { ASSERT_TRUE(open()); }
  {
    // Written by a future version: schema 99 in the metadata family (RocksDB's default one).
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.string(), &names).ok());
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(), dir_.string(), families, &handles, &raw).ok());
    ASSERT_TRUE(
        raw->Put(rocksdb::WriteOptions(), "schema_version", std::string("\0\0\0\x63", 4)).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto refused = Store::open({dir_.string()});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("schema version 99"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("newer"), std::string::npos);
}

TEST_F(StoreTest, ASchemaOneFolderMovesToTwoAndKeepsPublicGroups) {
  { ASSERT_TRUE(open()); }
  {
    // As schema 1 left it: no public_groups family, version 1.
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.string(), &names).ok());
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(), dir_.string(), families, &handles, &raw).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "public_groups") {
        ASSERT_TRUE(raw->DropColumnFamily(handles[i]).ok());
      }
    }
    ASSERT_TRUE(
        raw->Put(rocksdb::WriteOptions(), "schema_version", std::string("\0\0\0\x01", 4)).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  {
    auto store = open();
    ASSERT_TRUE(store);
    int seen = 0;
    ASSERT_TRUE(store->scan_public_groups([&](const ConvId&, const auto&) { ++seen; }).ok());
    EXPECT_EQ(seen, 0);  // Existing conversations have no public group.
    auto batch = store->batch();
    PublicGroupRecord r;
    r.set_state("view");
    batch.put_public_group(conv(7), r);
    ASSERT_TRUE(store->write(batch, true).ok());
  }
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<std::pair<ConvId, std::string>> groups;
  ASSERT_TRUE(store
                  ->scan_public_groups([&](const ConvId& c, const PublicGroupRecord& r) {
                    groups.emplace_back(c, r.state());
                  })
                  .ok());
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].first, conv(7));
  EXPECT_EQ(groups[0].second, "view");
}

TEST_F(StoreTest, BackupsHoldWhatWasWrittenAndRestoreIntoAnEmptyFolder) {
  const std::string backups = dir_.string() + "-backups";
  const std::string restored = dir_.string() + "-restored";
  std::filesystem::remove_all(backups);
  std::filesystem::remove_all(restored);
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto batch = store->batch();
    for (uint64_t seq = 1; seq <= 3; ++seq) batch.append_log(conv(4), seq, entry("m"));
    ASSERT_TRUE(store->write(batch, true).ok());
    auto backup = store->create_backup(backups);
    ASSERT_TRUE(backup.ok()) << backup.error().message;
    EXPECT_GT(backup->size_bytes, 0u);
  }
  ASSERT_TRUE(Store::verify_backup(backups).ok());
  EXPECT_EQ(Store::verify_backup(backups + "-none").error().code, Errc::kNotFound);
  ASSERT_TRUE(Store::restore_backup(backups, restored).ok());
  EXPECT_EQ(Store::restore_backup(backups, restored).error().code, Errc::kInvalidArgument);
  auto again = Store::open({restored});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*(*again)->last_log_seq(conv(4)), 3u);
  std::filesystem::remove_all(backups);
  std::filesystem::remove_all(restored);
}

TEST_F(StoreTest, SecondOpenOfARunningStoreFailsClearly) {
  auto store = open();
  ASSERT_TRUE(store);
  auto second = Store::open({dir_.string()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::kInternal);
  EXPECT_NE(second.error().message.find("cannot open"), std::string::npos);
}

TEST_F(StoreTest, GroupCommitterCompletesEveryBatchInOrder) {
  auto store = open();
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> all_done;
  constexpr int kBatches = 200;
  {
    GroupCommitter committer(
        *store, true, [](std::function<void()> fn) { fn(); }, nullptr);
    for (int i = 0; i < kBatches; ++i) {
      auto batch = store->batch();
      batch.append_log(conv(5), static_cast<uint64_t>(i + 1), entry("x"));
      committer.submit(std::move(batch), [&, i](const Status& s) {
        EXPECT_TRUE(s.ok());
        std::lock_guard lock(mu);
        order.push_back(i);
        if (static_cast<int>(order.size()) == kBatches) all_done.set_value();
      });
    }
    ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
    EXPECT_LE(committer.stats().groups, static_cast<uint64_t>(kBatches));
    EXPECT_EQ(committer.stats().batches, static_cast<uint64_t>(kBatches));
  }
  for (int i = 0; i < kBatches; ++i) ASSERT_EQ(order[i], i);
  EXPECT_EQ(*store->last_log_seq(conv(5)), static_cast<uint64_t>(kBatches));
}

TEST_F(StoreTest, SubmitAfterStopIsRefused) {
  auto store = open();
  ASSERT_TRUE(store);
  GroupCommitter committer(
      *store, true, [](std::function<void()> fn) { fn(); }, nullptr);
  committer.stop();
  bool called = false;
  committer.submit(store->batch(), [&](const Status& s) {
    called = true;
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::kShuttingDown);
  });
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace cercle::storage

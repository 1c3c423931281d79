// Key packages against the real server: upload, fetch one per device, single use (also across a
// crash and a restart), last resort, duplicates, the per-device cap and the low-stock event. The
// relay validates what it stores, so every package is a real MLS KeyPackage of its device.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

constexpr uint32_t kCap = 8;  // Small, so that the cap and a quarter of it are quick to reach.

class RelayKeyPackagesTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server(
        {"--config", write_config("[limits]\nmax_key_packages = " + std::to_string(kCap) + "\n")}));
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice_));
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob_));
  }

  static v1::ClientFrame upload(const std::vector<std::string>& packages,
                                const std::string& last_resort = {}) {
    v1::ClientFrame f;
    auto* u = f.mutable_upload_key_packages();
    for (const auto& p : packages) u->add_key_packages()->set_data(p);
    if (!last_resort.empty()) {
      auto* kp = u->add_key_packages();
      kp->set_data(last_resort);
      kp->set_last_resort(true);
    }
    return f;
  }

  // Uploads and expects the new count.
  static void upload_ok(TestDevice& d, const std::vector<std::string>& packages, uint32_t stored,
                        const std::string& last_resort = {}) {
    auto r = d.ws->call(upload(packages, last_resort));
    ASSERT_TRUE(r && r->has_upload_key_packages()) << (r ? r->error().message() : "timeout");
    EXPECT_EQ(r->upload_key_packages().stored(), stored);
  }

  static std::optional<v1::Response> fetch(TestDevice& by, const std::string& handle) {
    v1::ClientFrame f;
    f.mutable_fetch_key_packages()->set_handle(handle);
    return by.ws->call(f);
  }

  // Fetches `handle`'s packages and expects exactly one, from `device`.
  static void fetch_one(TestDevice& by, const std::string& handle, uint64_t device,
                        v1::FetchedKeyPackage* out) {
    auto r = fetch(by, handle);
    ASSERT_TRUE(r && r->has_fetch_key_packages()) << (r ? r->error().message() : "timeout");
    ASSERT_EQ(r->fetch_key_packages().key_packages_size(), 1);
    *out = r->fetch_key_packages().key_packages(0);
    EXPECT_EQ(out->device_id(), device);
  }

  static v1::CountKeyPackagesResult count(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_count_key_packages();
    auto r = d.ws->call(f);
    EXPECT_TRUE(r && r->has_count_key_packages());
    return r ? r->count_key_packages() : v1::CountKeyPackagesResult();
  }

  // `n` fresh KeyPackages of `d`.
  static std::vector<std::string> fresh(TestDevice& d, size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) out.push_back(d.mls->key_package());
    return out;
  }

  void disconnect_all() {
    alice_.ws.reset();
    bob_.ws.reset();
  }

  TestDevice alice_, bob_;
};

TEST_F(RelayKeyPackagesTest, FetchTakesOnePackagePerDeviceOfTheAccountInUploadOrder) {
  TestDevice bob2;
  ASSERT_NO_FATAL_FAILURE(add_device(bob_, &bob2));
  const auto b1 = fresh(bob_, 3);
  const auto b2 = fresh(bob2, 2);
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {b1[0], b1[1]}, 2));
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob2, {b2[0]}, 1));

  auto r = fetch(alice_, "Bob");  // Handles compare case-insensitively.
  ASSERT_TRUE(r && r->has_fetch_key_packages()) << (r ? r->error().message() : "timeout");
  const auto& result = r->fetch_key_packages();
  EXPECT_EQ(result.account().handle(), "bob");
  EXPECT_EQ(result.account().devices_size(), 2);
  ASSERT_EQ(result.key_packages_size(), 2);
  std::map<uint64_t, v1::FetchedKeyPackage> by_device;
  for (const auto& kp : result.key_packages()) by_device[kp.device_id()] = kp;
  EXPECT_EQ(by_device[bob_.device_id].data(), b1[0]);
  EXPECT_EQ(by_device[bob2.device_id].data(), b2[0]);
  EXPECT_FALSE(by_device[bob_.device_id].last_resort());

  // The second fetch gets the next package of bob's first device and nothing for the second.
  r = fetch(alice_, "bob");
  ASSERT_TRUE(r && r->has_fetch_key_packages());
  by_device.clear();
  for (const auto& kp : r->fetch_key_packages().key_packages()) by_device[kp.device_id()] = kp;
  ASSERT_EQ(by_device.size(), 2u);
  EXPECT_EQ(by_device[bob_.device_id].data(), b1[1]);
  EXPECT_EQ(by_device[bob2.device_id].data(), "");  // Empty: none left.
  EXPECT_FALSE(by_device[bob2.device_id].last_resort());
  EXPECT_EQ(count(bob_).stored(), 0u);

  // A device never fetches its own package: bob's second device only gets the first device's.
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {b1[2]}, 1));
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob2, {b2[1]}, 1));
  v1::FetchedKeyPackage kp;
  ASSERT_NO_FATAL_FAILURE(fetch_one(bob2, "bob", bob_.device_id, &kp));
  EXPECT_EQ(kp.data(), b1[2]);
  EXPECT_EQ(count(bob2).stored(), 1u);

  EXPECT_EQ(error_of(fetch(alice_, "nobody")), v1::NOT_FOUND);
  EXPECT_EQ(error_of(fetch(alice_, "a b")), v1::INVALID_HANDLE);
}

TEST_F(RelayKeyPackagesTest, APackageIsNeverHandedOutTwiceAcrossACrashAndARestart) {
  const auto packages = fresh(bob_, 4);
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, packages, 4));
  std::set<std::string> seen;
  v1::FetchedKeyPackage kp;
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  seen.insert(kp.data());

  // The fetch was answered once its deletion was durable: a crash right after cannot bring it back.
  server_->kill9();
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice_));
  ASSERT_NO_FATAL_FAILURE(reconnect(&bob_));
  EXPECT_EQ(count(bob_).stored(), 3u);
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  EXPECT_TRUE(seen.insert(kp.data()).second) << "a package was handed out twice";

  disconnect_all();  // Otherwise the server waits 3 s for answers to its close frames.
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice_));
  for (int i = 0; i < 2; ++i) {
    ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
    EXPECT_TRUE(seen.insert(kp.data()).second) << "a package was handed out twice";
  }
  EXPECT_EQ(seen, std::set<std::string>(packages.begin(), packages.end()));
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  EXPECT_EQ(kp.data(), "");
}

TEST_F(RelayKeyPackagesTest, TheLastResortPackageIsHandedOutRepeatedlyOnceTheOthersAreGone) {
  const auto kps = fresh(bob_, 6);
  const std::string& regular = kps[0];
  const std::string& resort1 = kps[1];
  const std::string& resort2 = kps[2];
  const std::string& regular2 = kps[3];
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {regular}, 1, resort1));
  auto c = count(bob_);
  EXPECT_EQ(c.stored(), 1u);         // The last-resort package is not counted...
  EXPECT_TRUE(c.has_last_resort());  // ...but reported.

  v1::FetchedKeyPackage kp;
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  EXPECT_EQ(kp.data(), regular);
  EXPECT_FALSE(kp.last_resort());
  for (int i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
    EXPECT_EQ(kp.data(), resort1);
    EXPECT_TRUE(kp.last_resort());
  }
  // A new last-resort package replaces the old one, also after a restart.
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {}, 0, resort2));
  disconnect_all();  // Otherwise the server waits 3 s for answers to its close frames.
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice_));
  ASSERT_NO_FATAL_FAILURE(reconnect(&bob_));
  c = count(bob_);
  EXPECT_EQ(c.stored(), 0u);
  EXPECT_TRUE(c.has_last_resort());
  for (int i = 0; i < 2; ++i) {
    ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
    EXPECT_EQ(kp.data(), resort2);
    EXPECT_TRUE(kp.last_resort());
  }
  // Regular packages uploaded later go first again.
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {regular2}, 1));
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  EXPECT_EQ(kp.data(), regular2);

  // At most one last-resort package per upload.
  v1::ClientFrame two = upload({}, kps[4]);
  auto* extra = two.mutable_upload_key_packages()->add_key_packages();
  extra->set_data(kps[5]);
  extra->set_last_resort(true);
  EXPECT_EQ(error_of(bob_.ws->call(two)), v1::INVALID_ARGUMENT);
}

TEST_F(RelayKeyPackagesTest, DuplicatesAreRefusedAndNothingOfTheUploadIsStored) {
  const auto kps = fresh(bob_, 3);
  const std::string& kp_a = kps[0];
  const std::string& kp_b = kps[1];
  const std::string& kp_c = kps[2];
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {kp_a}, 1));
  EXPECT_EQ(error_of(bob_.ws->call(upload({kp_a}))), v1::DUPLICATE_KEY_PACKAGE);
  // A duplicate inside one upload, next to a fresh package: all or none.
  EXPECT_EQ(error_of(bob_.ws->call(upload({kp_b, kp_b}))), v1::DUPLICATE_KEY_PACKAGE);
  EXPECT_EQ(error_of(bob_.ws->call(upload({kp_c, kp_a}))), v1::DUPLICATE_KEY_PACKAGE);
  EXPECT_EQ(count(bob_).stored(), 1u);
  // Another device uploading the same bytes is refused as well.
  EXPECT_EQ(error_of(alice_.ws->call(upload({kp_a}))), v1::DUPLICATE_KEY_PACKAGE);
  // Also after a restart, when the index is rebuilt from storage.
  disconnect_all();  // Otherwise the server waits 3 s for answers to its close frames.
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&bob_));
  EXPECT_EQ(error_of(bob_.ws->call(upload({kp_a}))), v1::DUPLICATE_KEY_PACKAGE);
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {kp_c}, 2));
  // Empty packages are invalid, not duplicates.
  EXPECT_EQ(error_of(bob_.ws->call(upload({""}))), v1::INVALID_ARGUMENT);
  EXPECT_EQ(error_of(bob_.ws->call(upload({}))), v1::INVALID_ARGUMENT);
}

TEST_F(RelayKeyPackagesTest, UploadsOverTheCapAreRefusedWhole) {
  EXPECT_EQ(bob_.ws->hello_result().limits().max_key_packages(), kCap);
  EXPECT_EQ(error_of(bob_.ws->call(upload(fresh(bob_, kCap + 1)))), v1::KEY_PACKAGE_LIMIT);
  EXPECT_EQ(count(bob_).stored(), 0u);

  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, fresh(bob_, kCap - 1), kCap - 1));
  const auto more = fresh(bob_, 3);
  const std::string& one = more[0];
  const std::string& two = more[1];
  EXPECT_EQ(error_of(bob_.ws->call(upload({one, two}))), v1::KEY_PACKAGE_LIMIT);
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {one}, kCap));
  EXPECT_EQ(error_of(bob_.ws->call(upload({two}))), v1::KEY_PACKAGE_LIMIT);
  // The last-resort package does not count against the cap.
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {}, kCap, more[2]));
  EXPECT_EQ(count(bob_).stored(), kCap);
  // Taking one makes room for one.
  v1::FetchedKeyPackage kp;
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, {two}, kCap));
}

TEST_F(RelayKeyPackagesTest, KeyPackagesLowIsSentWhenTheStockFallsUnderAQuarterOfTheCap) {
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, fresh(bob_, kCap), kCap));
  v1::FetchedKeyPackage kp;
  // Down to kCap / 4 = 2 left: not under a quarter yet.
  for (uint32_t i = 0; i < kCap - kCap / 4; ++i) {
    ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  }
  EXPECT_TRUE(bob_.ws->nothing_before_round_trip()) << "KeyPackagesLow too early";
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  auto e = bob_.ws->next_event();
  ASSERT_TRUE(e && e->has_key_packages_low()) << "no KeyPackagesLow event";
  EXPECT_EQ(e->key_packages_low().stored(), kCap / 4 - 1);
  // Only the owner of the packages is told.
  EXPECT_TRUE(alice_.ws->nothing_before_round_trip());
  // Refilling then taking again, above the threshold: no event.
  ASSERT_NO_FATAL_FAILURE(upload_ok(bob_, fresh(bob_, 4), 5));
  ASSERT_NO_FATAL_FAILURE(fetch_one(alice_, "bob", bob_.device_id, &kp));
  EXPECT_TRUE(bob_.ws->nothing_before_round_trip());
}

}  // namespace
}  // namespace cercle::testing

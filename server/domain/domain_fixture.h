// DomainTest: a fixture for the domain's unit tests. A real Store in a temporary folder, a real
// GroupCommitter whose completions the test thread runs (it plays the io_context thread), a manual
// clock, an Outbox that records what is published, and devices with real Ed25519 keys and real MLS
// (testing/mls_member.h) so that commits and key packages are what the relay reads.
#pragma once

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "proto/wire.h"
#include "server/domain/domain.h"
#include "server/domain/handle.h"
#include "testing/device_links.h"
#include "testing/mls_member.h"

namespace cercle::domain {

struct Published {
  ConvId conv;
  uint64_t seq;
  int kind;
  std::vector<DeviceId> recipients;
};

class RecordingOutbox : public Outbox {
 public:
  void publish(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
               std::span<const DeviceId> recipients) override {
    published.push_back({conv, seq, record.kind(), {recipients.begin(), recipients.end()}});
  }
  size_t notify(std::span<const DeviceId> devices, const v1::Event& event) override {
    for (DeviceId d : devices) notified.emplace_back(d, event);
    return 0;  // Nobody online: what must reach a device waits for its next sign-in.
  }
  std::vector<Published> published;
  std::vector<std::pair<DeviceId, v1::Event>> notified;
};

struct Device {
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  AuthInfo info;
  std::unique_ptr<testing::MlsMember> mls;  // Once registered.

  Device() { crypto_sign_keypair(pk, sk); }
  std::string public_key() const {
    return std::string(reinterpret_cast<const char*>(pk), sizeof pk);
  }
  std::string sign(std::string_view m) const {
    std::string sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<uint8_t*>(sig.data()), nullptr,
                         reinterpret_cast<const uint8_t*>(m.data()), m.size(), sk);
    return sig;
  }
};

class DomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cercle-domain-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    config_.registration = RegistrationPolicy::kOpen;
    config_.max_key_packages = 4;
    start();
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    store_ = std::move(storage::Store::open({dir_.string()})).value();
    committer_ = std::make_unique<storage::GroupCommitter>(
        *store_, true,
        [this](std::function<void()> fn) {
          std::lock_guard lock(mu_);
          posted_.push_back(std::move(fn));
          cv_.notify_one();
        },
        nullptr);
    domain_ = std::make_unique<Domain>(config_, *store_, *committer_, clock_, outbox_);
    ASSERT_TRUE(domain_->load().ok());
  }
  void stop() {
    if (domain_) domain_->conversations().flush_cursors();
    if (committer_) committer_->stop();
    pump_all();
    domain_.reset();
    committer_.reset();
    store_.reset();
  }
  void restart() {
    stop();
    start();
  }

  // Runs posted completions until `done` holds.
  template <class Pred>
  void pump_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ASSERT_TRUE(cv_.wait_until(lock, deadline, [&] { return !posted_.empty(); }))
            << "timed out waiting for a completion";
        fn = std::move(posted_.front());
        posted_.pop_front();
      }
      fn();
    }
  }
  void pump_all() {
    std::deque<std::function<void()>> fns;
    {
      std::lock_guard lock(mu_);
      fns.swap(posted_);
    }
    for (auto& fn : fns) fn();
  }

  template <class T, class Call>
  Result<T> await(Call call) {
    std::optional<Result<T>> out;
    call([&](Result<T> r) { out.emplace(std::move(r)); });
    pump_until([&] { return out.has_value(); });
    return std::move(*out);
  }

  std::string transcript(std::string_view challenge) {
    return wire::auth_transcript(domain_->instance_id(), challenge, wire::kProtocolVersion);
  }

  // Link 0 of `d`'s account, signed over the handle as the relay stores it (as typed when invalid).
  static v1::DeviceLink first_link(const Device& d, std::string_view handle) {
    auto stored = normalize_handle(handle);
    return testing::device_first_link(stored ? stored->display : std::string(handle),
                                      d.public_key(), testing::secret_bytes(d.sk, sizeof d.sk));
  }

  // Registers `d` through the contact link `token`, without a code; `d` stays as it was.
  Result<AuthInfo> register_through_link(Device& d, const std::string& handle,
                                         const std::string& token) {
    const std::string t = transcript("c");
    const auto link = first_link(d, handle);
    return await<AuthInfo>([&](auto cb) {
      domain_->identity().register_account(handle, d.public_key(), d.sign(t), t, {"", token}, &link,
                                           cb);
    });
  }

  Result<AuthInfo> register_device(Device& d, std::string_view handle, std::string code = "") {
    const std::string t = transcript("challenge");
    const auto link = first_link(d, handle);
    auto r = await<AuthInfo>([&](auto cb) {
      domain_->identity().register_account(handle, d.public_key(), d.sign(t), t, {code, ""}, &link,
                                           cb);
    });
    if (r) {
      d.info = *r;
      d.mls = std::make_unique<testing::MlsMember>(r->handle, d.sk);
      devices_.push_back(&d);
    }
    return r;
  }

  Result<uint32_t> upload(Device& d, std::vector<KeyPackageUpload> packages) {
    return await<uint32_t>([&](auto cb) {
      domain_->key_packages().upload(d.info.device_id, std::move(packages), cb);
    });
  }

  // Uploads a fresh KeyPackage of `d` and returns it.
  std::string upload_key_package(Device& d) {
    std::string kp = d.mls->key_package();
    auto r = upload(d, {{kp, false}});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return kp;
  }

  ConvView create_group(Device& d) {
    auto r = await<ConvView>([&](auto cb) {
      domain_->conversations().create(d.info.device_id, ConvKind::kGroup, "", cb);
    });
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return {};
    d.mls->create(r->id.str());
    return *r;
  }

  // The conversation as the relay holds it (it must exist).
  const ConvState& conversation(const ConvId& conv) const {
    const ConvState* c = domain_->conversations().conversation(conv);
    EXPECT_NE(c, nullptr);
    return *c;
  }

  uint32_t leaf_of(const ConvId& conv, const Device& d) const {
    return conversation(conv).member(d.info.device_id)->leaf;
  }

  static std::vector<DeviceId> ids(const std::vector<Device*>& devices) {
    std::vector<DeviceId> out;
    for (const Device* d : devices) out.push_back(d->info.device_id);
    return out;
  }

  // The request carrying `built` as an honest client sends it: its Welcome and, with a group's
  // first commit, the group's start (genesis).
  static CommitArgs commit_args(const ConvId& conv, uint64_t epoch,
                                const testing::MlsMember::Commit& built,
                                std::vector<DeviceId> add = {}, std::vector<DeviceId> remove = {}) {
    CommitArgs args{conv, epoch, built.message, std::move(add), std::move(remove), built.welcome};
    if (const auto& g = built.genesis) {
      args.genesis = CommitArgs::Genesis{g->group_context(), g->ratchet_tree(),
                                         g->confirmed_transcript_hash()};
    }
    return args;
  }

  // Builds a real MLS commit from `d` adding and removing devices, submits it at `epoch`, and on
  // success moves every member's MLS state along (adds join, others process the commit).
  Result<CommitOk> commit(Device& d, const ConvId& conv, uint64_t epoch, std::vector<Device*> add,
                          std::vector<Device*> remove = {}) {
    std::vector<std::string> kps;
    for (Device* a : add) kps.push_back(upload_key_package(*a));
    std::vector<uint32_t> leaves;
    for (Device* r : remove) leaves.push_back(leaf_of(conv, *r));
    const std::string group = conv.str();
    std::vector<std::string> added_handles;
    for (Device* a : add) added_handles.push_back(a->info.handle);
    // Mechanics tests: committers and the added facilitate (policy tests build their own).
    const auto policy =
        d.mls->in_group(group) && everyone_facilitates_ &&
                conversation(conv).kind == ConvKind::kGroup
            ? testing::facilitating_policy(d.mls->policy(group), d.info.handle, added_handles)
            : std::nullopt;
    auto built = d.mls->commit(group, kps, leaves, policy);
    CommitArgs args = commit_args(conv, epoch, built, ids(add), ids(remove));
    auto r = await<CommitOk>(
        [&](auto cb) { domain_->conversations().commit(d.info.device_id, std::move(args), cb); });
    if (!r) {
      d.mls->discard(group);
      return r;
    }
    d.mls->adopt(group);
    for (Device* other : devices_) {
      const bool added = std::find(add.begin(), add.end(), other) != add.end();
      if (added) {
        EXPECT_TRUE(other->mls->join(group, built.welcome));
      } else if (other != &d && other->mls->in_group(group)) {
        EXPECT_TRUE(other->mls->process(group, built.message));
      }
    }
    return r;
  }

  // `d`'s application message `text` in `conv`: a real MLS PrivateMessage of its current epoch
  // there (the relay refuses anything else on the application path).
  static std::string message(Device& d, const ConvId& conv, const std::string& text) {
    return d.mls->encrypt(conv.str(), text);
  }

  Result<SendOk> send(const Device& d, const ConvId& conv, uint64_t epoch, std::string payload,
                      EntryKind kind = EntryKind::kApplication) {
    return await<SendOk>([&](auto cb) {
      domain_->conversations().send(d.info.device_id, SendArgs{conv, epoch, payload, kind}, cb);
    });
  }

  std::filesystem::path dir_;
  Config config_;
  ManualClock clock_{std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()};
  RecordingOutbox outbox_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  std::unique_ptr<Domain> domain_;
  std::vector<Device*> devices_;
  bool everyone_facilitates_ = true;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> posted_;
};

}  // namespace cercle::domain

#include "server/domain/domain.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>

#include "proto/wire.h"

namespace cercle::domain {
namespace {

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
  std::vector<Published> published;
};

struct Device {
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  AuthInfo info;
  Device() { crypto_sign_keypair(pk, sk); }
  std::string public_key() const { return std::string(reinterpret_cast<const char*>(pk), sizeof pk); }
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

  // Runs posted completions until `done` holds; the test thread plays the io_context thread.
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

  Result<AuthInfo> register_device(Device& d, std::string_view handle, std::string code = "") {
    const std::string t = transcript("challenge");
    auto r = await<AuthInfo>([&](auto cb) {
      domain_->identity().register_account(handle, d.public_key(), d.sign(t), t, {code, ""}, cb);
    });
    if (r) d.info = *r;
    return r;
  }

  ConvView create_group(const Device& d) {
    auto r = await<ConvView>([&](auto cb) {
      domain_->conversations().create(d.info.device_id, ConvKind::kGroup, "", cb);
    });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ConvView{};
  }

  Result<CommitOk> commit(const Device& d, const ConvId& conv, uint64_t epoch,
                          std::vector<DeviceId> add, std::vector<DeviceId> remove = {}) {
    CommitArgs args{conv, epoch, "commit-bytes", std::move(add), std::move(remove), ""};
    if (!args.add.empty()) args.welcome = "welcome-bytes";
    return await<CommitOk>(
        [&](auto cb) { domain_->conversations().commit(d.info.device_id, std::move(args), cb); });
  }

  Result<SendOk> send(const Device& d, const ConvId& conv, uint64_t epoch, std::string text) {
    return await<SendOk>([&](auto cb) {
      domain_->conversations().send(d.info.device_id, SendArgs{conv, epoch, text}, cb);
    });
  }

  std::filesystem::path dir_;
  Config config_;
  ManualClock clock_{1'700'000'000'000};
  RecordingOutbox outbox_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  std::unique_ptr<Domain> domain_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> posted_;
};

TEST_F(DomainTest, RegisterThenAuthenticateAndLookUp) {
  Device d;
  auto reg = register_device(d, "Éloïse");
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  EXPECT_EQ(reg->handle, "Éloïse");
  EXPECT_EQ(reg->type, AccountType::kPeer);

  const std::string t = transcript("another");
  auto auth = domain_->identity().authenticate(d.public_key(), d.sign(t), t);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->device_id, reg->device_id);

  auto found = domain_->identity().lookup("ÉLOÏSE");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, reg->account_id);
  ASSERT_EQ(found->devices.size(), 1u);
}

TEST_F(DomainTest, ForgedSignaturesAndUnknownKeysFailAlike) {
  Device d, other;
  ASSERT_TRUE(register_device(d, "alice").ok());
  const std::string t = transcript("c1");
  auto forged = domain_->identity().authenticate(d.public_key(), other.sign(t), t);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, Errc::kAuthFailed);
  auto unknown = domain_->identity().authenticate(other.public_key(), other.sign(t), t);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::kAuthFailed);
  auto wrong_transcript = domain_->identity().authenticate(d.public_key(), d.sign(t), transcript("c2"));
  EXPECT_FALSE(wrong_transcript.ok());
}

TEST_F(DomainTest, HandlesAreUniqueAcrossLookAlikes) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  auto taken = register_device(b, "ALICE");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, Errc::kHandleTaken);
  auto same_key = register_device(a, "alice2");
  ASSERT_FALSE(same_key.ok());
  EXPECT_EQ(same_key.error().code, Errc::kDeviceKeyTaken);
  EXPECT_TRUE(register_device(c, "alicia").ok());
}

TEST_F(DomainTest, InviteCodesAreSingleUseAndExpire) {
  config_.registration = RegistrationPolicy::kInviteCode;
  restart();
  Device a, b, c, d;
  auto none = register_device(a, "alice");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kRegistrationCodeRequired);

  auto code = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(0, 3'600'000, cb); });
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->code.size(), 19u);  // XXXX-XXXX-XXXX-XXXX
  // Forged registrations do not burn the code.
  const std::string t = transcript("x");
  auto forged = await<AuthInfo>([&](auto cb) {
    domain_->identity().register_account("mallory", b.public_key(), a.sign(t), t, {code->code, ""},
                                         cb);
  });
  EXPECT_EQ(forged.error().code, Errc::kAuthFailed);

  std::string typed = code->code;  // Typed by hand: lower case, no dashes.
  std::erase(typed, '-');
  for (char& ch : typed) ch = static_cast<char>(std::tolower(ch));
  ASSERT_TRUE(register_device(a, "alice", typed).ok());
  auto reused = register_device(b, "bob", code->code);
  EXPECT_EQ(reused.error().code, Errc::kRegistrationCodeInvalid);

  auto short_lived = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(0, 1000, cb); });
  clock_.advance_ms(1001);
  EXPECT_EQ(register_device(c, "carol", short_lived->code).error().code,
            Errc::kRegistrationCodeInvalid);

  // Only admins create codes over the wire.
  auto not_admin = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(a.info.device_id, 0, cb); });
  EXPECT_EQ(not_admin.error().code, Errc::kForbidden);
  ASSERT_TRUE(await<Ok>([&](auto cb) { domain_->identity().set_admin("alice", true, cb); }).ok());
  auto by_admin = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(a.info.device_id, 0, cb); });
  ASSERT_TRUE(by_admin.ok());
  restart();  // The used code stays used after a restart.
  EXPECT_EQ(register_device(d, "dave", code->code).error().code, Errc::kRegistrationCodeInvalid);
  EXPECT_TRUE(register_device(d, "dave", by_admin->code).ok());
}

TEST_F(DomainTest, KeyPackagesAreHandedOutOnceExceptLastResort) {
  Device alice, bob;
  ASSERT_TRUE(register_device(alice, "alice").ok());
  ASSERT_TRUE(register_device(bob, "bob").ok());
  auto up = await<uint32_t>([&](auto cb) {
    domain_->key_packages().upload(bob.info.device_id,
                                   {{"kp1", false}, {"kp2", false}, {"kp-last", true}}, cb);
  });
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(*up, 2u);

  auto dup = await<uint32_t>([&](auto cb) {
    domain_->key_packages().upload(bob.info.device_id, {{"kp1", false}}, cb);
  });
  EXPECT_EQ(dup.error().code, Errc::kDuplicateKeyPackage);
  auto over = await<uint32_t>([&](auto cb) {
    domain_->key_packages().upload(bob.info.device_id, {{"a", false}, {"b", false}, {"c", false}}, cb);
  });
  EXPECT_EQ(over.error().code, Errc::kKeyPackageLimit);

  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto f = await<FetchedKeyPackages>(
        [&](auto cb) { domain_->key_packages().fetch(alice.info.device_id, "bob", cb); });
    ASSERT_TRUE(f.ok());
    ASSERT_EQ(f->packages.size(), 1u);
    got.push_back(f->packages[0].data);
    if (i == 1) restart();  // Taken packages stay taken across a restart.
  }
  EXPECT_EQ(got, (std::vector<std::string>{"kp1", "kp2", "kp-last", "kp-last"}));
  EXPECT_EQ(domain_->key_packages().count(bob.info.device_id).stored, 0u);
  // A package handed out cannot come back, even after a restart.
  auto again = await<uint32_t>([&](auto cb) {
    domain_->key_packages().upload(bob.info.device_id, {{"kp1", false}}, cb);
  });
  EXPECT_EQ(again.error().code, Errc::kDuplicateKeyPackage);
}

TEST_F(DomainTest, FirstCommitOfAnEpochWinsAndFanOutReachesMembers) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ASSERT_TRUE(register_device(c, "carol").ok());
  ConvView conv = create_group(a);
  auto added = commit(a, conv.id, 0, {b.info.device_id});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->epoch, 1u);
  ASSERT_FALSE(outbox_.published.empty());
  EXPECT_EQ(outbox_.published.back().recipients, std::vector<DeviceId>{b.info.device_id});

  // Both commit for epoch 1: the first wins, the second learns the current epoch.
  auto first = commit(b, conv.id, 1, {c.info.device_id});
  auto second = commit(a, conv.id, 1, {c.info.device_id});
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::kStaleEpoch);
  EXPECT_EQ(second.error().current_epoch, 2u);

  auto stale_send = send(c, conv.id, 1, "old");
  EXPECT_EQ(stale_send.error().code, Errc::kStaleEpoch);
  auto sent = send(c, conv.id, 2, "hello");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->seq, 3u);
  auto recipients = outbox_.published.back().recipients;
  std::sort(recipients.begin(), recipients.end());
  std::vector<DeviceId> expected{a.info.device_id, b.info.device_id};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(recipients, expected);
}

TEST_F(DomainTest, NonMembersCanNeitherWriteNorRead) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  EXPECT_EQ(send(b, conv.id, 0, "x").error().code, Errc::kForbidden);
  EXPECT_EQ(commit(b, conv.id, 0, {b.info.device_id}).error().code, Errc::kForbidden);
  EXPECT_EQ(domain_->conversations().read(b.info.device_id, conv.id, 0, 10, 1000).error().code,
            Errc::kForbidden);
  EXPECT_EQ(domain_->conversations().ack(b.info.device_id, conv.id, 1).error().code,
            Errc::kForbidden);
  ConvId unknown;
  unknown.bytes.fill(7);
  EXPECT_EQ(send(a, unknown, 0, "x").error().code, Errc::kNotFound);
}

TEST_F(DomainTest, RemovedDeviceReadsUpToItsRemovalThenIsForgotten) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  ASSERT_TRUE(commit(a, conv.id, 0, {b.info.device_id}).ok());   // seq 1
  ASSERT_TRUE(send(a, conv.id, 1, "m").ok());                       // seq 2
  auto removed = commit(a, conv.id, 1, {}, {b.info.device_id});    // seq 3
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(outbox_.published.back().recipients, std::vector<DeviceId>{b.info.device_id});
  ASSERT_TRUE(send(a, conv.id, 2, "after").ok());                   // seq 4
  EXPECT_TRUE(outbox_.published.back().recipients.empty());
  EXPECT_EQ(send(b, conv.id, 2, "x").error().code, Errc::kForbidden);

  auto read = domain_->conversations().read(b.info.device_id, conv.id, 0, 100, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 3u);  // Its welcome (1), the message (2) and its removal (3), not 4.
  EXPECT_EQ(read->back().seq, 3u);

  auto cursor = domain_->conversations().ack(b.info.device_id, conv.id, 99);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 3u);
  EXPECT_TRUE(domain_->conversations().streams(b.info.device_id).empty());
  restart();
  EXPECT_TRUE(domain_->conversations().streams(b.info.device_id).empty());
}

TEST_F(DomainTest, CursorsAndEpochSurviveRestart) {
  Device a, b;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ConvView conv = create_group(a);
  ASSERT_TRUE(commit(a, conv.id, 0, {b.info.device_id}).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(send(a, conv.id, 1, "m").ok());
  ASSERT_EQ(*domain_->conversations().ack(b.info.device_id, conv.id, 4), 4u);
  restart();
  auto streams = domain_->conversations().streams(b.info.device_id);
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].cursor, 4u);
  auto got = domain_->conversations().get(a.info.device_id, conv.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->epoch, 1u);
  EXPECT_EQ(got->head_seq, 6u);
  EXPECT_EQ(got->members.size(), 2u);
  auto next = send(a, conv.id, 1, "after restart");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 7u);
}

TEST_F(DomainTest, DirectConversationAdmitsOnlyItsTwoAccounts) {
  Device a, b, c;
  ASSERT_TRUE(register_device(a, "alice").ok());
  ASSERT_TRUE(register_device(b, "bob").ok());
  ASSERT_TRUE(register_device(c, "carol").ok());
  auto conv = await<ConvView>(
      [&](auto cb) { domain_->conversations().create(a.info.device_id, ConvKind::kDirect, "bob", cb); });
  ASSERT_TRUE(conv.ok());
  EXPECT_EQ(commit(a, conv->id, 0, {c.info.device_id}).error().code, Errc::kForbidden);
  EXPECT_TRUE(commit(a, conv->id, 0, {b.info.device_id}).ok());
  auto self = await<ConvView>(
      [&](auto cb) { domain_->conversations().create(a.info.device_id, ConvKind::kDirect, "alice", cb); });
  EXPECT_EQ(self.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace cercle::domain

namespace cercle::domain {
namespace {

TEST_F(DomainTest, ContactLinksLetVisitorsRegisterWithoutACodeUntilRevoked) {
  config_.registration = RegistrationPolicy::kInviteCode;
  config_.contact_link_registrations_per_hour = 2;
  config_.max_contact_links = 2;
  restart();
  auto code = await<RegistrationCode>(
      [&](auto cb) { domain_->identity().create_registration_code(0, 0, cb); });
  Device helper, v1, v2, v3, v4;
  ASSERT_TRUE(register_device(helper, "aidant", code->code).ok());
  auto link = await<ContactLinkView>([&](auto cb) {
    domain_->contact_links().create(helper.info.device_id, "site", 3'600'000, cb);
  });
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->token.size(), 22u);

  auto resolved = domain_->contact_links().resolve(link->token);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->owner->handle, "aidant");
  EXPECT_TRUE(resolved->label.empty());  // The owner's note is not for visitors.

  auto through_link = [&](Device& d, std::string handle, const std::string& token) {
    const std::string t = transcript("c");
    return await<AuthInfo>([&](auto cb) {
      domain_->identity().register_account(handle, d.public_key(), d.sign(t), t, {"", token}, cb);
    });
  };
  ASSERT_TRUE(through_link(v1, "visiteur1", link->token).ok());
  ASSERT_TRUE(through_link(v2, "visiteur2", link->token).ok());
  auto limited = through_link(v3, "visiteur3", link->token);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, Errc::kRateLimited);
  EXPECT_GT(limited.error().retry_after_ms, 0u);
  clock_.advance_ms(3'600'000);  // The link was made to last one hour.
  EXPECT_EQ(through_link(v3, "visiteur3", link->token).error().code, Errc::kRegistrationCodeInvalid);

  auto second = await<ContactLinkView>(
      [&](auto cb) { domain_->contact_links().create(helper.info.device_id, "", 0, cb); });
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(through_link(v3, "visiteur3", second->token).ok());
  EXPECT_EQ(domain_->contact_links().list(helper.info.device_id).size(), 2u);
  // Only the owner revokes.
  EXPECT_EQ(await<Ok>([&](auto cb) {
              domain_->contact_links().revoke(v1.info.device_id, second->token, cb);
            }).error().code,
            Errc::kNotFound);
  ASSERT_TRUE(await<Ok>([&](auto cb) {
                domain_->contact_links().revoke(helper.info.device_id, second->token, cb);
              }).ok());
  restart();  // Revocation and counts are durable.
  EXPECT_EQ(through_link(v4, "visiteur4", second->token).error().code,
            Errc::kRegistrationCodeInvalid);
  EXPECT_EQ(domain_->contact_links().resolve(second->token).error().code, Errc::kNotFound);
  auto links = domain_->contact_links().list(helper.info.device_id);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_TRUE(links[0].revoked);
  EXPECT_EQ(links[0].registrations, 1u);
}

}  // namespace
}  // namespace cercle::domain

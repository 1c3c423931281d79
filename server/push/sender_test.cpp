// The sender against push-service doubles on 127.0.0.1: each decrypts what it gets with the
// subscription's private key and checks the VAPID token, as a browser's push service would.
#include "server/push/sender.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "server/push/base64url.h"
#include "server/push/push_service_double.h"

namespace cercle::push {
namespace {

using namespace std::chrono_literals;
using testing::PushServiceDouble;
namespace asio = boost::asio;

constexpr auto kWait = 10s;  // Bound of every wait; a pass takes milliseconds.
constexpr char kSubject[] = "mailto:ops@cercle.example";

// A browser's subscription: its private key stays here, on the "device".
struct Device {
  explicit Device(std::string endpoint) : key(P256Key::generate().value()), auth(random_bytes(16)) {
    subscription = Subscription{std::move(endpoint), PushKeys{key.public_point(), auth}};
  }
  P256Key key;
  std::string auth;
  Subscription subscription;
};

PushServiceDouble::Answer answer(int status, std::string retry_after = "", bool hold = false) {
  return PushServiceDouble::Answer{status, std::move(retry_after), hold};
}
PushServiceDouble::Answer held() { return answer(0, "", true); }

template <class F>
bool eventually(F done) {
  const auto until = std::chrono::steady_clock::now() + kWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class SenderTest : public ::testing::Test {
 protected:
  SenderTest() : work_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {
    options_.subject = kSubject;
    options_.endpoints = {.allow_plain_http = true, .allow_private_addresses = true};
    options_.connect_timeout = 5s;
    options_.io_timeout = 5s;
    options_.limits.first_backoff = 20ms;
    options_.limits.max_backoff = 200ms;
  }
  ~SenderTest() override {
    sender_.reset();
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  void start() {
    auto s = Sender::create(ioc_.get_executor(), VapidKey::generate().value(), options_,
                            [this](const Gone& g) {
                              std::lock_guard lock(mu_);
                              gone_.push_back(g);
                            });
    ASSERT_TRUE(s.ok()) << s.error().message;
    sender_ = std::move(*s);
  }

  Push push_for(const Device& d, std::string topic, std::string payload) {
    Push p;
    p.device = "device-of-" + d.subscription.endpoint;
    p.topic = std::move(topic);
    p.subscription = d.subscription;
    p.payload = std::move(payload);
    p.ttl = 600s;
    p.urgency = Urgency::kHigh;
    return p;
  }

  // What the push service checks: the VAPID token is this instance's, for this origin, signed.
  void expect_vapid(const PushServiceDouble::Received& r, const std::string& origin) {
    const std::string& value = r.headers.at("authorization");
    const auto comma = value.find(", k=");
    ASSERT_TRUE(value.starts_with("vapid t=") && comma != std::string::npos);
    const std::string jwt = value.substr(8, comma - 8);
    EXPECT_EQ(base64url_decode(value.substr(comma + 4)), sender_->vapid().public_key());
    const auto dot = jwt.rfind('.');
    const auto claims = boost::json::parse(
        base64url_decode(jwt.substr(jwt.find('.') + 1, dot - jwt.find('.') - 1)).value_or(""));
    EXPECT_EQ(claims.at("aud").as_string(), origin);
    EXPECT_EQ(claims.at("sub"), kSubject);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const int64_t exp = claims.at("exp").as_int64();
    EXPECT_GT(exp, now);
    EXPECT_LE(exp, now + 24 * 3600);
    auto pub = P256Key::from_public(sender_->vapid().public_key());
    EXPECT_TRUE(
        es256_verify(*pub, jwt.substr(0, dot), base64url_decode(jwt.substr(dot + 1)).value()));
  }

  std::string open(const Device& d, const PushServiceDouble::Received& r) {
    auto text = decrypt_push(d.key, d.auth, r.body);
    EXPECT_TRUE(text.ok()) << text.error().message;
    return text.ok() ? *text : std::string();
  }

  std::vector<Gone> gone() {
    std::lock_guard lock(mu_);
    return gone_;
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  SenderOptions options_;
  std::unique_ptr<Sender> sender_;
  std::mutex mu_;
  std::vector<Gone> gone_;
};

TEST_F(SenderTest, ThePushServiceGetsOnlyAnEncryptedPayloadAndAValidVapidToken) {
  PushServiceDouble service;
  const Device device(service.endpoint("token-1"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "conv", "{\"v\":1}")).ok());
  ASSERT_TRUE(service.wait_for(1, kWait));
  const auto r = service.received().at(0);
  EXPECT_EQ(r.target, "/push/token-1");
  EXPECT_EQ(r.headers.at("content-encoding"), "aes128gcm");
  EXPECT_EQ(r.headers.at("urgency"), "high");
  const int ttl = std::stoi(r.headers.at("ttl"));
  EXPECT_GT(ttl, 590);
  EXPECT_LE(ttl, 600);
  EXPECT_EQ(r.body.find("{\"v\":1}"), std::string::npos);
  EXPECT_EQ(r.body.size(), 86 + 7 + 1 + 16u);
  EXPECT_EQ(open(device, r), "{\"v\":1}");
  expect_vapid(r, service.origin());
  EXPECT_TRUE(eventually([&] { return sender_->stats().sent == 1; }));
}

TEST_F(SenderTest, A410ReportsTheSubscriptionGone) {
  PushServiceDouble service;
  service.script([](const auto&, size_t) { return answer(410); });
  const Device device(service.endpoint("old"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "conv", "x")).ok());
  ASSERT_TRUE(eventually([&] { return gone().size() == 1; }));
  EXPECT_EQ(gone()[0].device, "device-of-" + device.subscription.endpoint);
  EXPECT_EQ(gone()[0].endpoint, device.subscription.endpoint);
  EXPECT_EQ(gone()[0].status, 410);
  EXPECT_EQ(sender_->stats().gone, 1u);
  EXPECT_EQ(service.received().size(), 1u);  // Not retried.
}

TEST_F(SenderTest, A503IsRetriedAndTheSecondAttemptDelivers) {
  PushServiceDouble service;
  service.script([](const auto&, size_t n) { return answer(n == 0 ? 503 : 201); });
  const Device device(service.endpoint("t"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "conv", "again")).ok());
  ASSERT_TRUE(service.wait_for(2, kWait));
  ASSERT_TRUE(eventually([&] { return sender_->stats().sent == 1; }));
  const auto got = service.received();
  EXPECT_EQ(open(device, got[0]), "again");
  EXPECT_EQ(open(device, got[1]), "again");
  EXPECT_NE(got[0].body.substr(0, 16), got[1].body.substr(0, 16));  // Encrypted afresh.
  EXPECT_EQ(sender_->stats().retried, 1u);
}

TEST_F(SenderTest, A429sRetryAfterIsHonoured) {
  PushServiceDouble service;
  service.script([](const auto&, size_t n) { return n == 0 ? answer(429, "1") : answer(201); });
  const Device device(service.endpoint("t"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "conv", "later")).ok());
  ASSERT_TRUE(service.wait_for(2, kWait));
  const auto got = service.received();
  EXPECT_GE(got[1].at - got[0].at, 1s);  // The backoff alone would be 20 ms.
}

TEST_F(SenderTest, ASlowPushServiceDoesNotHoldAnother) {
  PushServiceDouble slow;
  slow.script([](const auto&, size_t) { return held(); });
  PushServiceDouble fast;
  const Device stuck(slow.endpoint("a"));
  const Device other(fast.endpoint("b"));
  start();
  ASSERT_TRUE(sender_->send(push_for(stuck, "conv", "one")).ok());
  ASSERT_TRUE(slow.wait_for(1, kWait));  // Its request is under way, unanswered.
  ASSERT_TRUE(sender_->send(push_for(other, "conv", "two")).ok());
  ASSERT_TRUE(fast.wait_for(1, kWait));
  EXPECT_EQ(open(other, fast.received().at(0)), "two");
  ASSERT_TRUE(eventually([&] { return sender_->stats().sent == 1; }));
  EXPECT_EQ(sender_->stats().in_flight, 1u);
}

TEST_F(SenderTest, AnUnansweredRequestTimesOutAndIsRetriedThenGivenUp) {
  options_.io_timeout = 200ms;
  options_.limits.max_attempts = 2;
  PushServiceDouble slow;
  slow.script([](const auto&, size_t) { return held(); });
  const Device device(slow.endpoint("a"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "conv", "x")).ok());
  ASSERT_TRUE(slow.wait_for(2, kWait));
  ASSERT_TRUE(eventually([&] { return sender_->stats().failed == 1; }));
  EXPECT_EQ(sender_->stats().in_flight, 0u);
  EXPECT_EQ(slow.received().size(), 2u);
}

TEST_F(SenderTest, AFullQueueDropsTheOldestWaitingPushes) {
  options_.io_timeout = 1500ms;  // Long enough for the four sends to queue behind d0.
  options_.limits.max_attempts = 1;
  options_.limits.max_queued = 2;
  options_.limits.max_in_flight_per_origin = 1;
  PushServiceDouble service;
  service.script([](const auto&, size_t n) { return n == 0 ? held() : answer(201); });
  std::vector<std::unique_ptr<Device>> devices;
  for (int i = 0; i < 5; ++i) {
    devices.push_back(std::make_unique<Device>(service.endpoint("d" + std::to_string(i))));
  }
  start();
  ASSERT_TRUE(sender_->send(push_for(*devices[0], "c", "0")).ok());
  ASSERT_TRUE(service.wait_for(1, kWait));  // d0 holds the only place for this service.
  for (int i = 1; i < 5; ++i) ASSERT_TRUE(sender_->send(push_for(*devices[i], "c", "x")).ok());
  ASSERT_TRUE(eventually([&] { return sender_->stats().dropped == 2; }));
  // d0 times out; then the two newest go.
  ASSERT_TRUE(eventually([&] {
    const auto s = sender_->stats();
    return s.sent == 2 && s.failed == 1 && s.queued == 0 && s.in_flight == 0;
  }));
  std::vector<std::string> targets;
  for (const auto& r : service.received()) targets.push_back(r.target);
  EXPECT_EQ(targets, (std::vector<std::string>{"/push/d0", "/push/d3", "/push/d4"}));
}

TEST_F(SenderTest, PushesForOneConversationAreCoalesced) {
  options_.limits.coalesce_window = 300ms;
  PushServiceDouble service;
  const Device device(service.endpoint("t"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "c1", "one")).ok());
  ASSERT_TRUE(service.wait_for(1, kWait));
  ASSERT_TRUE(sender_->send(push_for(device, "c1", "two")).ok());
  ASSERT_TRUE(sender_->send(push_for(device, "c1", "three")).ok());
  ASSERT_TRUE(sender_->send(push_for(device, "c2", "four")).ok());
  ASSERT_TRUE(eventually([&] {
    const auto s = sender_->stats();
    return s.sent == 3 && s.queued == 0 && s.in_flight == 0;
  }));
  std::multiset<std::string> payloads;
  for (const auto& r : service.received()) payloads.insert(open(device, r));
  EXPECT_EQ(payloads, (std::multiset<std::string>{"one", "three", "four"}));
  EXPECT_EQ(sender_->stats().coalesced, 1u);
}

TEST_F(SenderTest, AnEndpointResolvingToAPrivateAddressIsNeverContacted) {
  options_.endpoints.allow_private_addresses = false;
  PushServiceDouble service;
  const Device device("http://localhost:" + std::to_string(service.port()) + "/push/t");
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "c", "x")).ok());
  ASSERT_TRUE(eventually([&] { return gone().size() == 1; }));
  EXPECT_EQ(gone()[0].status, 0);
  // A push to the same service by address is refused at once.
  const Device literal(service.endpoint("t"));
  const Status refused = sender_->send(push_for(literal, "c", "x"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(service.received().empty());
}

TEST_F(SenderTest, SendRefusesWhatCannotGoAndEverythingAfterStop) {
  PushServiceDouble service;
  const Device device(service.endpoint("t"));
  start();
  Push big = push_for(device, "c", std::string(kMaxPlaintext + 1, 'x'));
  EXPECT_EQ(sender_->send(std::move(big)).error().code, Errc::kInvalidArgument);
  Push bad = push_for(device, "c", "x");
  bad.subscription.keys.auth = "short";
  EXPECT_EQ(sender_->send(std::move(bad)).error().code, Errc::kInvalidArgument);
  sender_->stop();
  EXPECT_EQ(sender_->send(push_for(device, "c", "x")).error().code, Errc::kShuttingDown);
  SenderOptions no_contact;
  no_contact.subject = "ops@cercle.example";  // Neither mailto: nor https:.
  auto refused =
      Sender::create(ioc_.get_executor(), VapidKey::generate().value(), no_contact, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
}

TEST_F(SenderTest, OverHttpsThePushServicesCertificateIsVerified) {
  PushServiceDouble service("localhost");
  options_.tls = service.trusting_context();
  const Device device(service.endpoint("t", "localhost"));
  start();
  ASSERT_TRUE(sender_->send(push_for(device, "c", "over tls")).ok());
  ASSERT_TRUE(service.wait_for(1, kWait));
  EXPECT_EQ(open(device, service.received().at(0)), "over tls");
  expect_vapid(service.received().at(0), "https://localhost:" + std::to_string(service.port()));
  EXPECT_TRUE(eventually([&] { return sender_->stats().sent == 1; }));
}

TEST_F(SenderTest, AnUntrustedOrMisnamedCertificateGetsNothing) {
  PushServiceDouble service("localhost");
  options_.limits.max_attempts = 1;
  const Device by_name(service.endpoint("t", "localhost"));
  const Device by_address(service.endpoint("t", "127.0.0.1"));
  // The system's CAs do not know the double's certificate.
  start();
  ASSERT_TRUE(sender_->send(push_for(by_name, "c", "x")).ok());
  ASSERT_TRUE(eventually([&] { return sender_->stats().failed == 1; }));
  sender_.reset();
  // Trusted, but it names "localhost", not 127.0.0.1.
  options_.tls = service.trusting_context();
  start();
  ASSERT_TRUE(sender_->send(push_for(by_address, "c", "x")).ok());
  ASSERT_TRUE(eventually([&] { return sender_->stats().failed == 1; }));
  EXPECT_TRUE(service.received().empty());
}

}  // namespace
}  // namespace cercle::push

// Web Push from the real relay to a push-service double on 127.0.0.1 (plain http, allowed by the
// test-only [push] allow_insecure_endpoints_for_tests): a device with no connection gets one push
// per conversation, encrypted for its subscription (the test decrypts it as a browser would) and
// signed for by the instance's VAPID key; connected devices get none; a 410 drops the subscription;
// a push service that never answers does not slow the relay. "Nothing arrives" is always proven by
// another device's push arriving after it.
#include <gtest/gtest.h>

#include <sodium.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "cercle/policy/policy.h"
#include "cercle/policy/seance.h"
#include "server/push/base64url.h"
#include "server/push/ece.h"
#include "server/push/push_service_double.h"
#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

using push::testing::PushServiceDouble;
constexpr auto kWait = 10s;  // Bound of every wait; a pass takes milliseconds.
constexpr char kSubject[] = "mailto:admin@cercle.example";

// The browser's side of a subscription: its private key stays in the test.
struct Browser {
  push::P256Key key = push::P256Key::generate().value();
  std::string auth = push::random_bytes(16);
};

v1::ClientFrame register_frame(const std::string& endpoint, const std::string& p256dh,
                               const std::string& auth) {
  v1::ClientFrame f;
  auto* r = f.mutable_register_push_subscription();
  r->set_endpoint(endpoint);
  r->set_p256dh(p256dh);
  r->set_auth(auth);
  return f;
}

class RelayPushTest : public RelayFixture {
 protected:
  void start(const std::string& push_toml) {
    const std::string config = write_config("[push]\n" + push_toml);
    ASSERT_NO_FATAL_FAILURE(start_server({"--config", config}));
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start(std::string("subject = \"") + kSubject +
                                  "\"\nallow_insecure_endpoints_for_tests = true\n"));
  }

  // `d` subscribes `b` at the double's endpoint /push/<d's handle>.
  void subscribe(TestDevice& d, const Browser& b) {
    auto r = d.ws->call(register_frame(double_.endpoint(d.handle), b.key.public_point(), b.auth));
    ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  }

  // A metric's value from /metrics (-1 if absent); the test runs on loopback, which may read it.
  double metric(const std::string& name) {
    namespace asio = boost::asio;
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    boost::system::error_code ec;
    socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()}, ec);
    if (ec) return -1;
    asio::write(socket,
                asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                         "Connection: close\r\n\r\n")),
                ec);
    std::string text;
    asio::read(socket, asio::dynamic_buffer(text), ec);
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }
  bool metric_becomes(const std::string& name, double value) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (metric(name) == value) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Drops `d`'s connection and waits (bounded) until the relay has let go of its session, so
  // that what follows finds the device with no connection.
  void go_offline(TestDevice& d) {
    d.ws.reset();
    size_t online = 0;
    for (auto* other : devices_) online += other->ws != nullptr;
    ASSERT_TRUE(metric_becomes("cercle_sessions_authenticated", static_cast<double>(online)));
  }

  // Waits for the n-th request (from 1) and returns it.
  PushServiceDouble::Received nth(size_t n) {
    EXPECT_TRUE(double_.wait_for(n, kWait)) << "only " << double_.received().size();
    auto all = double_.received();
    return all.size() >= n ? all[n - 1] : PushServiceDouble::Received{};
  }

  // The payload as the browser reads it.
  static std::string open(const Browser& b, const PushServiceDouble::Received& r) {
    auto text = push::decrypt_push(b.key, b.auth, r.body);
    EXPECT_TRUE(text.ok()) << (text.ok() ? "" : text.error().message);
    return text.ok() ? *text : std::string();
  }

  static std::string message_json(const std::string& conv) {
    return "{\"kind\":\"message\",\"conversation\":\"" + push::base64url_encode(conv) + "\"}";
  }

  // What a push service checks: RFC 8292's header for its origin, signed with the key the relay
  // announces in HelloResult.push_public_key.
  void expect_vapid(const PushServiceDouble::Received& r, const std::string& announced) {
    ASSERT_EQ(announced.size(), 65u);
    const std::string& value = r.headers.at("authorization");
    const auto comma = value.find(", k=");
    ASSERT_TRUE(value.starts_with("vapid t=") && comma != std::string::npos) << value;
    EXPECT_EQ(push::base64url_decode(value.substr(comma + 4)), announced);
    const std::string jwt = value.substr(8, comma - 8);
    const auto dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
    const auto claims = boost::json::parse(
        push::base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)).value_or("{}"));
    EXPECT_EQ(claims.at("aud").as_string(), double_.origin());
    EXPECT_EQ(claims.at("sub").as_string(), kSubject);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    EXPECT_GT(claims.at("exp").as_int64(), now);
    EXPECT_LE(claims.at("exp").as_int64(), now + 24 * 3600);
    auto key = push::P256Key::from_public(announced);
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(push::es256_verify(*key, jwt.substr(0, dot2),
                                   push::base64url_decode(jwt.substr(dot2 + 1)).value_or("")));
  }

  static std::string target(const TestDevice& d) { return "/push/" + d.handle; }
  static size_t count_for(const std::vector<PushServiceDouble::Received>& all,
                          const TestDevice& d) {
    return std::count_if(all.begin(), all.end(),
                         [&](const auto& r) { return r.target == target(d); });
  }

  PushServiceDouble double_;
};

TEST_F(RelayPushTest, AnOfflineMemberGetsOneEncryptedPushNamingOnlyTheConversation) {
  TestDevice alice, bob, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  const std::string announced = bob.ws->hello_result().push_public_key();
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob, &carol}, &conv));
  Browser bob_browser, carol_browser;
  ASSERT_NO_FATAL_FAILURE(subscribe(bob, bob_browser));
  ASSERT_NO_FATAL_FAILURE(subscribe(carol, carol_browser));
  ASSERT_NO_FATAL_FAILURE(go_offline(bob));

  const std::string sent = message(alice, conv, "bonjour bob, à jeudi");
  ASSERT_NO_FATAL_FAILURE(send_ok(alice, conv, 1, sent));
  const auto push = nth(1);
  EXPECT_EQ(push.target, target(bob));
  const std::string json = open(bob_browser, push);
  EXPECT_EQ(json, message_json(conv));  // Exactly: no content, sender, handle or group name.
  EXPECT_EQ(push.body.find(sent), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(expect_vapid(push, announced));
  EXPECT_NEAR(std::stoi(push.headers.at("ttl")), 24 * 3600, 10);  // Less the time queued.
  EXPECT_EQ(push.headers.at("urgency"), "normal");
  EXPECT_EQ(push.headers.at("content-encoding"), "aes128gcm");
  EXPECT_FALSE(push.headers.contains("topic"));
  // carol, online, read it live and got no push.
  auto live = carol.ws->next_delivery();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->payload(), sent);

  // A second message at once: coalesced with the first (the push already tells bob to look).
  // Proof: carol goes offline and her push for the next message arrives; bob's count stays 1.
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "tu es là ?"));
  ASSERT_NO_FATAL_FAILURE(go_offline(carol));
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "à bientôt"));
  const auto carols = nth(2);
  EXPECT_EQ(carols.target, target(carol));
  EXPECT_EQ(open(carol_browser, carols), message_json(conv));
  EXPECT_EQ(count_for(double_.received(), bob), 1u);
  // Bob's second waits for the end of the window; his third took its place.
  EXPECT_EQ(metric("cercle_push_coalesced_total"), 1);
  EXPECT_EQ(metric("cercle_push_queued"), 1);
  EXPECT_EQ(metric("cercle_push_sent_total"), 2);
}

TEST_F(RelayPushTest, AConnectedDeviceGetsNoPush) {
  TestDevice alice, bob, carol, dave;
  for (auto [name, d] :
       {std::pair{"alice", &alice}, {"bob", &bob}, {"carol", &carol}, {"dave", &dave}}) {
    ASSERT_NO_FATAL_FAILURE(register_device(name, d));
  }
  std::string conv, other;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob, &carol}, &conv));
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &dave}, &other));
  Browser b, c, d;
  ASSERT_NO_FATAL_FAILURE(subscribe(bob, b));
  ASSERT_NO_FATAL_FAILURE(subscribe(carol, c));
  ASSERT_NO_FATAL_FAILURE(subscribe(dave, d));
  ASSERT_NO_FATAL_FAILURE(go_offline(carol));
  ASSERT_NO_FATAL_FAILURE(go_offline(dave));

  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "bonsoir"));
  EXPECT_EQ(nth(1).target, target(carol));
  ASSERT_TRUE(bob.ws->next_delivery());
  // Bob's push, had there been one, was queued before this one.
  ASSERT_NO_FATAL_FAILURE(say(alice, other, 1, "et toi ?"));
  EXPECT_EQ(nth(2).target, target(dave));
  EXPECT_EQ(count_for(double_.received(), bob), 0u);
}

TEST_F(RelayPushTest, ASubscriptionThePushServiceSaysIsGoneIsDropped) {
  TestDevice alice, bob, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  double_.script([](const PushServiceDouble::Received& r, size_t) {
    return PushServiceDouble::Answer{r.target == "/push/bob" ? 410 : 201, "", false};
  });
  std::string first, second;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob}, &first));
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob, &carol}, &second));
  Browser b, c;
  ASSERT_NO_FATAL_FAILURE(subscribe(bob, b));
  ASSERT_NO_FATAL_FAILURE(subscribe(carol, c));
  ASSERT_NO_FATAL_FAILURE(go_offline(bob));
  ASSERT_NO_FATAL_FAILURE(say(alice, first, 1, "un"));
  EXPECT_EQ(nth(1).target, target(bob));
  ASSERT_TRUE(metric_becomes("cercle_push_gone_total", 1));

  // Another conversation (another topic: it would go at once) finds no subscription for bob.
  ASSERT_NO_FATAL_FAILURE(go_offline(carol));
  ASSERT_NO_FATAL_FAILURE(say(alice, second, 1, "deux"));
  EXPECT_EQ(nth(2).target, target(carol));
  EXPECT_EQ(count_for(double_.received(), bob), 1u);
  // And it stays dropped after a restart.
  ASSERT_EQ(server_->terminate(), 0);
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice));
  ASSERT_NO_FATAL_FAILURE(say(alice, first, 1, "trois"));
  ASSERT_NO_FATAL_FAILURE(say(alice, second, 1, "quatre"));
  ASSERT_TRUE(double_.wait_for(3, kWait));
  EXPECT_EQ(count_for(double_.received(), bob), 1u);
}

TEST_F(RelayPushTest, APushServiceThatNeverAnswersDoesNotSlowTheRelay) {
  TestDevice alice, bob, carol;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(register_device("carol", &carol));
  double_.script([](const PushServiceDouble::Received&, size_t) {
    return PushServiceDouble::Answer{0, "", true};
  });
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob, &carol}, &conv));
  Browser b;
  ASSERT_NO_FATAL_FAILURE(subscribe(bob, b));
  ASSERT_NO_FATAL_FAILURE(go_offline(bob));
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "un"));
  ASSERT_TRUE(double_.wait_for(1, kWait));  // Held: never answered.

  const auto before = std::chrono::steady_clock::now();
  v1::ClientFrame count;
  count.mutable_count_key_packages();
  auto r = carol.ws->call(count, 2s);
  ASSERT_TRUE(r && r->has_count_key_packages());
  for (int i = 0; i < 5; ++i) ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "encore"));
  EXPECT_EQ(carol.ws->deliveries(6, 2s).size(), 6u);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  // Nor does it hold the relay's stop: the request under way is cancelled.
  EXPECT_EQ(server_->terminate(), 0);
}

TEST_F(RelayPushTest, AnInvitationIsPushedToTheInviteesOfflineDevice) {
  TestDevice alice, bob, pro;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  ASSERT_NO_FATAL_FAILURE(register_device("dr_martin", &pro));
  int status = -1;
  run_admin(data_dir(), {"account", "set-type", "dr_martin", "professional"}, &status);
  ASSERT_EQ(status, 0);
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob}, &conv));
  Browser p;
  ASSERT_NO_FATAL_FAILURE(subscribe(pro, p));
  ASSERT_NO_FATAL_FAILURE(go_offline(pro));

  ASSERT_NO_FATAL_FAILURE(invite_professional(alice, conv, "dr_martin"));
  const auto invited = nth(1);
  EXPECT_EQ(invited.target, target(pro));
  EXPECT_EQ(open(p, invited), "{\"kind\":\"invitation\"}");  // Not even the group.
}

TEST_F(RelayPushTest, ASeanceOpeningIsPushedUrgentlyAndBriefly) {
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob}, &conv));
  Browser b;
  ASSERT_NO_FATAL_FAILURE(subscribe(bob, b));
  ASSERT_NO_FATAL_FAILURE(go_offline(bob));
  v1::GroupPolicy rules;
  ASSERT_TRUE(rules.ParseFromString(alice.mls->policy(conv).value_or("")));
  rules.mutable_seances()->set_write_only_in_seance(true);
  auto c = alice.mls->commit(conv, {}, {}, rules.SerializeAsString());
  auto r = alice.ws->call(commit_frame(conv, 1, c));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  alice.mls->adopt(conv);
  v1::SeanceEvent e;
  e.set_conversation_id(conv);
  e.set_seance_id(std::string(16, 's'));
  e.set_author(alice.handle);
  e.mutable_opened()->set_charter_hash(policy::seance::charter_hash(rules.charter()));
  v1::ClientFrame open_seance;
  open_seance.mutable_post_seance_event()->set_conversation_id(conv);
  open_seance.mutable_post_seance_event()->set_signed_event(
      policy::seance::sign(e, alice.key.sk).SerializeAsString());
  r = alice.ws->call(open_seance);
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  // The commit before it (new rules) was no reason for a push: this is the first.
  const auto seance = nth(1);
  EXPECT_EQ(seance.target, target(bob));
  EXPECT_EQ(open(b, seance),
            "{\"kind\":\"seance\",\"conversation\":\"" + push::base64url_encode(conv) + "\"}");
  EXPECT_EQ(seance.headers.at("urgency"), "high");
  EXPECT_NEAR(std::stoi(seance.headers.at("ttl")), 3600, 10);
}

TEST_F(RelayPushTest, UnregisteringAndDeletingTheAccountDropTheSubscription) {
  TestDevice alice, bob, carol, dave;
  for (auto [name, d] :
       {std::pair{"alice", &alice}, {"bob", &bob}, {"carol", &carol}, {"dave", &dave}}) {
    ASSERT_NO_FATAL_FAILURE(register_device(name, d));
  }
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&alice, &bob, &carol, &dave}, &conv));
  Browser b, c, d;
  ASSERT_NO_FATAL_FAILURE(subscribe(bob, b));
  ASSERT_NO_FATAL_FAILURE(subscribe(carol, c));
  ASSERT_NO_FATAL_FAILURE(subscribe(dave, d));
  v1::ClientFrame unregister;
  unregister.mutable_unregister_push_subscription();
  auto r = bob.ws->call(unregister);
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  r = bob.ws->call(unregister);  // Again: nothing to forget, still done.
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  v1::ClientFrame deletion;
  deletion.mutable_delete_account()->set_handle(dave.handle);
  r = dave.ws->call(deletion);
  ASSERT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  ASSERT_TRUE(dave.ws->wait_closed());
  ASSERT_NO_FATAL_FAILURE(go_offline(dave));
  ASSERT_NO_FATAL_FAILURE(go_offline(bob));
  ASSERT_NO_FATAL_FAILURE(go_offline(carol));

  // dave's device is still in the group's tree (nobody committed its removal): it is a
  // recipient, with no subscription left.
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "quelqu'un ?"));
  EXPECT_EQ(nth(1).target, target(carol));
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "vraiment personne ?"));  // Behind carol's: queued.
  ASSERT_EQ(server_->terminate(), 0);  // Restarted: the records, not only memory, went.
  ASSERT_NO_FATAL_FAILURE(restart_server());
  ASSERT_NO_FATAL_FAILURE(reconnect(&alice));
  ASSERT_NO_FATAL_FAILURE(say(alice, conv, 1, "après le redémarrage"));
  EXPECT_EQ(nth(2).target, target(carol));  // A new process: a new coalescing window.
  const auto all = double_.received();
  EXPECT_EQ(count_for(all, bob), 0u);
  EXPECT_EQ(count_for(all, dave), 0u);
}

// Against a server without the test-only flag: what a client may not subscribe.
class RelayPushRulesTest : public RelayPushTest {
 protected:
  void SetUp() override {}
  void expect_refused(TestDevice& d, const v1::ClientFrame& f, v1::ErrorCode code,
                      const std::string& words) {
    auto r = d.ws->call(f);
    ASSERT_TRUE(r && r->has_error()) << "not refused: " << words;
    EXPECT_EQ(r->error().code(), code) << words;
    EXPECT_EQ(r->error().message(), words);
  }
};

TEST_F(RelayPushRulesTest, EndpointsAndKeysAreChecked) {
  ASSERT_NO_FATAL_FAILURE(start(std::string("subject = \"") + kSubject + "\"\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  EXPECT_EQ(alice.ws->hello_result().push_public_key().size(), 65u);
  const Browser b;
  const std::string point = b.key.public_point();
  for (auto [endpoint, words] : {std::pair{double_.endpoint("alice"), "the endpoint is not https"},
                                 {"http://push.example.org/abc", "the endpoint is not https"},
                                 {"https://10.0.0.1/abc", "the endpoint's address is not public"},
                                 {"https://127.0.0.1/abc", "the endpoint's address is not public"},
                                 {"pas une adresse", "the endpoint is not a URL"}}) {
    ASSERT_NO_FATAL_FAILURE(expect_refused(alice, register_frame(endpoint, point, b.auth),
                                           v1::INVALID_ARGUMENT, words));
  }
  const std::string good = "https://push.example.org/abc";
  ASSERT_NO_FATAL_FAILURE(expect_refused(alice, register_frame(good, point.substr(0, 64), b.auth),
                                         v1::INVALID_ARGUMENT, "p256dh is not a P-256 point"));
  ASSERT_NO_FATAL_FAILURE(expect_refused(alice, register_frame(good, point, b.auth.substr(0, 15)),
                                         v1::INVALID_ARGUMENT, "auth is not 16 bytes"));
  auto r = alice.ws->call(register_frame(good, point, b.auth));
  EXPECT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
}

TEST_F(RelayPushRulesTest, WithPushOffThereIsNoKeyAndNoSubscription) {
  ASSERT_NO_FATAL_FAILURE(start(std::string("enabled = false\nsubject = \"") + kSubject + "\"\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  EXPECT_TRUE(alice.ws->hello_result().push_public_key().empty());
  const Browser b;
  const auto f = register_frame("https://push.example.org/abc", b.key.public_point(), b.auth);
  ASSERT_NO_FATAL_FAILURE(
      expect_refused(alice, f, v1::FORBIDDEN, "push notifications are off on this instance"));
  v1::ClientFrame unregister;  // Forgetting one's subscription stays possible.
  unregister.mutable_unregister_push_subscription();
  auto r = alice.ws->call(unregister);
  EXPECT_TRUE(r && r->has_done()) << (r ? r->error().message() : "timeout");
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/vapid.pem"));
}

TEST_F(RelayPushRulesTest, WithoutAContactPushStaysOff) {
  ASSERT_NO_FATAL_FAILURE(start(""));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  EXPECT_TRUE(alice.ws->hello_result().push_public_key().empty());
  EXPECT_NE(server_->log().find("push.off"), std::string::npos);
}

}  // namespace
}  // namespace cercle::testing

// Pairing a new device through the relay (device requests, kept in memory): a connection that has
// not authenticated asks to become a device of an account, the account's device and the new one
// exchange nonces (the new device's committed in advance) and show the same code, the old device
// approves with AddDevice and the new one authenticates. Only the requester and the account's
// devices see a request; requests expire, are bounded and rate-limited.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "tests/device_chain_fixture.h"

namespace cercle::testing {
namespace {

// The steps of a pairing, each checked as the relay takes it.
class RelayDevicePairingTest : public RelayDeviceChainTest {
 protected:
  // `approver`, a device of the account, sees the one pending request `id` (of the device `key`)
  // and posts its nonce, once; `approver_nonce` gets it.
  static void post_approver_nonce(TestDevice& approver, const std::string& id, const DeviceKey& key,
                                  std::string* approver_nonce) {
    auto list = approver.ws->call(list_frame());
    ASSERT_TRUE(list && list->has_device_requests());
    ASSERT_EQ(list->device_requests().requests_size(), 1);
    const auto seen = list->device_requests().requests(0);
    EXPECT_EQ(seen.request_id(), id);
    EXPECT_EQ(seen.device_public_key(), key.public_key());
    *approver_nonce = random_nonce();
    auto posted = approver.ws->call(nonce_frame(id, *approver_nonce));
    ASSERT_TRUE(posted && posted->has_device_request());
    EXPECT_EQ(error_of(approver.ws->call(nonce_frame(id, random_nonce()))), v1::INVALID_ARGUMENT);
  }

  // The new device on `fresh` reads the approver's nonce, then reveals its own `nonce`, once;
  // `revealed` gets the request as the relay answered the reveal.
  static void reveal_nonce(WsClient& fresh, const std::string& id, const std::string& nonce,
                           const std::string& approver_nonce, v1::DeviceRequestInfo* revealed) {
    auto polled = fresh.call(get_frame(id));
    ASSERT_TRUE(polled && polled->has_device_request());
    EXPECT_EQ(polled->device_request().approver_nonce(), approver_nonce);
    auto r = fresh.call(nonce_frame(id, nonce));
    ASSERT_TRUE(r && r->has_device_request()) << (r ? r->error().message() : "timeout");
    *revealed = r->device_request();
    EXPECT_EQ(error_of(fresh.call(nonce_frame(id, nonce))), v1::INVALID_ARGUMENT);  // Again.
  }

  // The person types the new device's code on `approver`, which shows the same one: it signs the
  // ADD with the new device's proof, as the request it reads (`theirs`) gives them.
  static void approve(TestDevice& approver, const v1::DeviceRequestInfo& theirs,
                      const std::string& approver_nonce, const std::string& new_code,
                      uint64_t* device_id) {
    EXPECT_EQ(policy::commitment(theirs.device_nonce()), theirs.commitment());
    const std::string old_code =
        policy::pairing_code(theirs.handle(), theirs.device_public_key(), theirs.mls_key(),
                             theirs.device_nonce(), approver_nonce);
    EXPECT_EQ(new_code, old_code);
    auto link = policy::make_link(chain_view(approver, approver.handle), approver.handle,
                                  v1::DEVICE_ADD, theirs.device_public_key(), theirs.mls_key(),
                                  kTime, secret(approver.key), theirs.possession());
    v1::ClientFrame add;
    add.mutable_add_device()->set_device_public_key(theirs.device_public_key());
    *add.mutable_add_device()->mutable_link() = link;
    auto added = approver.ws->call(add);
    ASSERT_TRUE(added && added->has_device()) << (added ? added->error().message() : "timeout");
    *device_id = added->device().device_id();
  }
};

TEST_F(RelayDevicePairingTest, ANewDevicePairsWithAnExistingOneAndAuthenticates) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  const std::string nonce = random_nonce();
  auto fresh = anonymous();
  auto made = fresh->call(request_frame("alice", key, nonce));
  ASSERT_TRUE(made && made->has_device_request()) << (made ? made->error().message() : "timeout");
  const auto& info = made->device_request();
  EXPECT_EQ(info.request_id().size(), 16u);
  EXPECT_EQ(info.handle(), "alice");
  EXPECT_TRUE(info.approver_nonce().empty());
  EXPECT_EQ(info.device_id(), 0u);
  const std::string id = info.request_id();

  std::string approver_nonce;
  ASSERT_NO_FATAL_FAILURE(post_approver_nonce(alice, id, key, &approver_nonce));
  v1::DeviceRequestInfo mine;
  ASSERT_NO_FATAL_FAILURE(reveal_nonce(*fresh, id, nonce, approver_nonce, &mine));
  // Both show the same code, each from what the relay gave it.
  const std::string new_code = policy::pairing_code(mine.handle(), key.public_key(),
                                                    key.public_key(), nonce, mine.approver_nonce());
  auto theirs = alice.ws->call(get_frame(id));
  ASSERT_TRUE(theirs && theirs->has_device_request());
  uint64_t device_id = 0;
  ASSERT_NO_FATAL_FAILURE(
      approve(alice, theirs->device_request(), approver_nonce, new_code, &device_id));

  // The new device learns it was approved, and authenticates on the same connection.
  auto approved = fresh->call(get_frame(id));
  ASSERT_TRUE(approved && approved->has_device_request());
  EXPECT_EQ(approved->device_request().device_id(), device_id);
  auto auth = fresh->authenticate(key);
  ASSERT_TRUE(auth && auth->has_auth()) << (auth ? auth->error().message() : "timeout");
  EXPECT_EQ(auth->auth().device_id(), device_id);
  EXPECT_EQ(auth->auth().account_id(), alice.account_id);
}

TEST_F(RelayDevicePairingTest, TheRevealedNonceMustMatchTheCommitmentAndComeSecond) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  const std::string nonce = random_nonce();
  auto fresh = anonymous();
  const std::string id = request_device(*fresh, "alice", key, nonce);
  ASSERT_FALSE(id.empty());

  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, nonce))), v1::INVALID_ARGUMENT);  // Too early.
  auto posted = alice.ws->call(nonce_frame(id, random_nonce()));
  ASSERT_TRUE(posted && posted->has_device_request());
  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, random_nonce()))), v1::FORBIDDEN);
  EXPECT_EQ(error_of(fresh->call(nonce_frame(id, nonce.substr(1)))), v1::INVALID_ARGUMENT);
  auto revealed = fresh->call(nonce_frame(id, nonce));
  EXPECT_TRUE(revealed && revealed->has_device_request());
}

TEST_F(RelayDevicePairingTest, OnlyTheRequesterAndTheAccountsDevicesSeeARequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice, bob;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  ASSERT_NO_FATAL_FAILURE(register_chained("bob", &bob));
  DeviceKey key;
  auto fresh = anonymous();
  const std::string id = request_device(*fresh, "alice", key, random_nonce());
  ASSERT_FALSE(id.empty());

  auto other = anonymous();
  EXPECT_EQ(error_of(other->call(get_frame(id))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(other->call(nonce_frame(id, random_nonce()))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(bob.ws->call(get_frame(id))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(bob.ws->call(nonce_frame(id, random_nonce()))), v1::NOT_FOUND);
  EXPECT_EQ(error_of(bob.ws->call(get_frame(std::string(16, 'x')))), v1::NOT_FOUND);
  auto bobs = bob.ws->call(list_frame());
  ASSERT_TRUE(bobs && bobs->has_device_requests());
  EXPECT_EQ(bobs->device_requests().requests_size(), 0);
  // Bob's failed post left the request as it was: alice still posts the approver's nonce.
  auto posted = alice.ws->call(nonce_frame(id, random_nonce()));
  EXPECT_TRUE(posted && posted->has_device_request());
  auto still = fresh->call(get_frame(id));
  EXPECT_TRUE(still && still->has_device_request());
}

TEST_F(RelayDevicePairingTest, RequestDeviceRefusals) {
  ASSERT_NO_FATAL_FAILURE(start());
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  const std::string nonce = random_nonce();
  auto fresh = anonymous();

  EXPECT_EQ(error_of(fresh->call(request_frame("nobody", key, nonce))), v1::NOT_FOUND);
  auto short_key = request_frame("alice", key, nonce);
  short_key.mutable_request_device()->mutable_mls_key()->pop_back();
  EXPECT_EQ(error_of(fresh->call(short_key)), v1::INVALID_ARGUMENT);
  auto short_commitment = request_frame("alice", key, nonce);
  short_commitment.mutable_request_device()->mutable_commitment()->pop_back();
  EXPECT_EQ(error_of(fresh->call(short_commitment)), v1::INVALID_ARGUMENT);
  auto no_proof = request_frame("alice", key, nonce);
  no_proof.mutable_request_device()->mutable_possession()->at(0) ^= 1;
  EXPECT_EQ(error_of(fresh->call(no_proof)), v1::FORBIDDEN);
  EXPECT_EQ(error_of(fresh->call(request_frame("alice", alice.key, nonce))), v1::DEVICE_KEY_TAKEN);
  EXPECT_EQ(error_of(alice.ws->call(request_frame("alice", key, nonce))),
            v1::ALREADY_AUTHENTICATED);
  auto before_hello = connect();
  EXPECT_EQ(error_of(before_hello->call(request_frame("alice", key, nonce))), v1::HELLO_REQUIRED);
  EXPECT_EQ(error_of(before_hello->call(list_frame())), v1::HELLO_REQUIRED);
  EXPECT_EQ(error_of(fresh->call(list_frame())), v1::NOT_AUTHENTICATED);

  // At most 4 pending requests per account.
  for (int i = 0; i < 4; ++i) {
    DeviceKey k;
    ASSERT_FALSE(request_device(*fresh, "alice", k, nonce).empty());
  }
  EXPECT_EQ(error_of(fresh->call(request_frame("alice", key, nonce))), v1::LIMIT_REACHED);
  auto list = alice.ws->call(list_frame());
  ASSERT_TRUE(list && list->has_device_requests());
  EXPECT_EQ(list->device_requests().requests_size(), 4);
}

TEST_F(RelayDevicePairingTest, ARequestExpiresAfterItsLifetime) {
  ASSERT_NO_FATAL_FAILURE(start("device_request_ttl_s = 1\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  auto fresh = anonymous();
  const auto made = std::chrono::steady_clock::now();
  const std::string id = request_device(*fresh, "alice", key, random_nonce());
  ASSERT_FALSE(id.empty());
  auto alive = fresh->call(get_frame(id));
  ASSERT_TRUE(alive && alive->has_device_request());

  std::this_thread::sleep_until(made + std::chrono::seconds(1));  // The lifetime itself.
  // The relay's clock may have started the request a little later: poll, briefly and bounded.
  std::optional<v1::Response> r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    r = fresh->call(get_frame(id));
    if (error_of(r) == v1::NOT_FOUND || std::chrono::steady_clock::now() >= deadline) break;
    fresh->drain(50ms);
  }
  EXPECT_EQ(error_of(r), v1::NOT_FOUND);
  EXPECT_EQ(error_of(alice.ws->call(get_frame(id))), v1::NOT_FOUND);
  auto list = alice.ws->call(list_frame());
  ASSERT_TRUE(list && list->has_device_requests());
  EXPECT_EQ(list->device_requests().requests_size(), 0);
}

TEST_F(RelayDevicePairingTest, AnonymousRequestsAreRateLimitedPerAddress) {
  ASSERT_NO_FATAL_FAILURE(
      start("device_request_ttl_s = 600\n[rate_limits]\nregistrations_per_ip_per_hour = 3\n"
            "auth_attempts_per_ip_per_minute = 4\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));  // The first registration token.
  auto fresh = anonymous();
  DeviceKey a, b, c;
  const std::string id = request_device(*fresh, "alice", a, random_nonce());
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(request_device(*fresh, "alice", b, random_nonce()).empty());
  EXPECT_EQ(error_of(fresh->call(request_frame("alice", c, random_nonce()))), v1::RATE_LIMITED);

  // Following a request before authentication counts like authentication attempts.
  for (int i = 0; i < 4; ++i) {
    auto r = fresh->call(get_frame(id));
    ASSERT_TRUE(r && r->has_device_request()) << i;
  }
  EXPECT_EQ(error_of(fresh->call(get_frame(id))), v1::RATE_LIMITED);
  auto theirs = alice.ws->call(get_frame(id));  // The account's device is not counted so.
  EXPECT_TRUE(theirs && theirs->has_device_request());
}

TEST_F(RelayDevicePairingTest, ANewDeviceWaitingForApprovalOutlivesTheAuthenticationDeadline) {
  ASSERT_NO_FATAL_FAILURE(start("auth_timeout_s = 1\ndevice_request_ttl_s = 30\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_chained("alice", &alice));
  DeviceKey key;
  auto waiting = anonymous();
  const std::string id = request_device(*waiting, "alice", key, random_nonce());
  ASSERT_FALSE(id.empty());
  auto idle = anonymous();

  int code = 0;
  ASSERT_TRUE(idle->wait_closed(5s, &code));  // Past the authentication deadline.
  EXPECT_EQ(code, 1008);
  auto r = waiting->call(get_frame(id));  // Older, and still open.
  EXPECT_TRUE(r && r->has_device_request()) << (r ? r->error().message() : "timeout");
  EXPECT_FALSE(waiting->is_closed());
}

}  // namespace
}  // namespace cercle::testing

// Bad input against the real server: every malformed, unknown, oversized, out-of-order or forbidden
// request gets its typed error, the offending connection stays usable, and other clients are
// unaffected (a send/deliver round trip between two members still works after each).
#include <gtest/gtest.h>

#include <google/protobuf/unknown_field_set.h>

#include <random>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

std::string varint(uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
  out.push_back(static_cast<char>(v));
  return out;
}

// A ClientFrame's bytes by hand: request_id (field 1), then `rest`.
std::string raw_frame(uint64_t request_id, const std::string& rest) {
  return "\x08" + varint(request_id) + rest;
}

// Adds unknown varint field `number` to `message`.
void add_unknown(google::protobuf::Message* message, int number) {
  message->GetReflection()->MutableUnknownFields(message)->AddVarint(number, 1);
}

class RelayBadInputTest : public RelayFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_server({"--sync", "false"}));
    ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice_));
    ASSERT_NO_FATAL_FAILURE(register_device("bob", &bob_));
    ASSERT_NO_FATAL_FAILURE(register_device("mallory", &mallory_));
    ASSERT_NO_FATAL_FAILURE(make_group({&alice_, &bob_}, &conv_));
  }

  // A round trip between the two members: the server and other clients are unaffected.
  void expect_round_trip() {
    const std::string p = "ping-" + std::to_string(++pings_);
    ASSERT_NO_FATAL_FAILURE(say(alice_, conv_, 1, p));
    auto got = bob_.ws->next_delivery(2s);
    ASSERT_TRUE(got) << "bob stopped receiving";
    EXPECT_EQ(text_of(bob_, conv_, got->payload()), p) << "an earlier bad request reached bob";
  }

  // Sends raw bytes on `c` and expects an error `code` answered to `request_id`.
  static void expect_raw_error(WsClient& c, const std::string& bytes, uint64_t request_id,
                               v1::ErrorCode code, bool text = false) {
    ASSERT_TRUE(c.send_raw(bytes, text));
    auto r = c.wait_response(request_id, 2s);
    ASSERT_TRUE(r) << "no answer for request " << request_id;
    EXPECT_EQ(error_of(r), code) << r->ShortDebugString();
    EXPECT_FALSE(c.is_closed());
  }

  // The connection still answers requests.
  static void expect_usable(WsClient& c) {
    v1::ClientFrame f;
    f.mutable_list_conversations();
    auto r = c.call(f, 2s);
    ASSERT_TRUE(r && r->has_conversations()) << "the connection is no longer usable";
  }

  static v1::ClientFrame fetch_frame(const std::string& conv) {
    v1::ClientFrame f;
    f.mutable_fetch_log()->set_conversation_id(conv);
    return f;
  }
  static v1::ClientFrame get_frame(const std::string& conv) {
    v1::ClientFrame f;
    f.mutable_get_conversation()->set_conversation_id(conv);
    return f;
  }
  // `commit`'s request sent under another conversation id.
  static v1::ClientFrame commit_to(const BuiltCommit& commit, const std::string& conv) {
    v1::ClientFrame f = commit.frame;
    f.mutable_commit()->set_conversation_id(conv);
    return f;
  }

  TestDevice alice_, bob_, mallory_;
  std::string conv_;
  int pings_ = 0;
};

TEST_F(RelayBadInputTest, MalformedFramesAreAnsweredWithTheirRequestIdWhenReadable) {
  auto& m = *mallory_.ws;
  // request_id 42, then a truncated tag.
  ASSERT_NO_FATAL_FAILURE(expect_raw_error(m, raw_frame(42, "\xff\xff"), 42, v1::MALFORMED_FRAME));
  // A length running past the end of the frame.
  ASSERT_NO_FATAL_FAILURE(
      expect_raw_error(m, raw_frame(43, "\x82\x02\x7f"), 43, v1::MALFORMED_FRAME));
  // Wire type 7 does not exist; no readable request id.
  ASSERT_NO_FATAL_FAILURE(expect_raw_error(m, "\x0f\x01\x02", 0, v1::MALFORMED_FRAME));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());

  // Random bytes after a readable request id, skipping the rare blobs that happen to parse.
  std::mt19937 rng(20261121);
  int tried = 0;
  for (uint64_t id = 100; id < 140; ++id) {
    std::string tail(1 + rng() % 200, '\0');
    for (auto& ch : tail) ch = static_cast<char>(rng());
    const std::string bytes = raw_frame(id, tail);
    v1::ClientFrame check;
    if (check.ParseFromString(bytes)) continue;
    ++tried;
    ASSERT_NO_FATAL_FAILURE(expect_raw_error(m, bytes, id, v1::MALFORMED_FRAME));
  }
  EXPECT_GE(tried, 20);
  ASSERT_NO_FATAL_FAILURE(expect_usable(m));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());

  // A flood of garbage, pipelined: every frame answered, nobody else disturbed.
  for (uint64_t id = 1000; id < 1300; ++id) ASSERT_TRUE(m.send_raw(raw_frame(id, "\xff")));
  for (uint64_t id = 1000; id < 1300; ++id) {
    auto r = m.wait_response(id, 2s);
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(error_of(r), v1::MALFORMED_FRAME);
  }
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

TEST_F(RelayBadInputTest, TextMessagesAreRefusedAsMalformed) {
  // A valid frame (request 7, an empty Hello) whose bytes are all ASCII, sent as text.
  const std::string ascii_frame = raw_frame(7, "\x52\x00");
  ASSERT_NO_FATAL_FAILURE(
      expect_raw_error(*mallory_.ws, ascii_frame, 7, v1::MALFORMED_FRAME, /*text=*/true));
  ASSERT_NO_FATAL_FAILURE(
      expect_raw_error(*mallory_.ws, "{\"hello\": 1}", 0, v1::MALFORMED_FRAME, true));
  ASSERT_NO_FATAL_FAILURE(expect_usable(*mallory_.ws));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());

  // A text message that is not UTF-8 breaks the WebSocket protocol itself (RFC 6455 8.1): the
  // connection is failed with 1007, and only that connection.
  v1::ClientFrame f;
  f.set_request_id(9);
  f.mutable_list_conversations();  // Its tag is not valid UTF-8.
  ASSERT_TRUE(mallory_.ws->send_raw(f.SerializeAsString(), true));
  int code = 0;
  ASSERT_TRUE(mallory_.ws->wait_closed(2s, &code));
  EXPECT_EQ(code, 1007);
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

TEST_F(RelayBadInputTest, UnknownRequestKindsAndUnknownFieldsAreTyped) {
  auto& m = *mallory_.ws;
  // Field 99 (length-delimited, empty) and field 16 (a varint): request kinds v1 does not define.
  ASSERT_NO_FATAL_FAILURE(
      expect_raw_error(m, raw_frame(5, varint(99 << 3 | 2) + '\0'), 5, v1::UNKNOWN_OPERATION));
  ASSERT_NO_FATAL_FAILURE(
      expect_raw_error(m, raw_frame(6, varint(16 << 3) + '\x01'), 6, v1::UNKNOWN_OPERATION));
  // No request at all.
  ASSERT_NO_FATAL_FAILURE(expect_raw_error(m, raw_frame(8, ""), 8, v1::UNKNOWN_OPERATION));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());

  // An unknown field inside a known request: refused, and the request is not executed.
  auto send = send_frame(conv_, 1, message(alice_, conv_, "must not be delivered"));
  add_unknown(send.mutable_send(), 42);
  auto r = alice_.ws->call(send);
  EXPECT_EQ(error_of(r), v1::UNKNOWN_FIELD);
  EXPECT_NE(r->error().message().find("cercle.v1.Send#42"), std::string::npos)
      << r->error().message();
  // At the top level, next to a valid request.
  v1::ClientFrame list;
  list.mutable_list_conversations();
  add_unknown(&list, 7);
  r = m.call(list);
  EXPECT_EQ(error_of(r), v1::UNKNOWN_FIELD);
  EXPECT_NE(r->error().message().find("cercle.v1.ClientFrame#7"), std::string::npos);
  // Deep inside a repeated message (a valid KeyPackage: only the unknown field is wrong).
  v1::ClientFrame upload;
  auto* kp = upload.mutable_upload_key_packages()->add_key_packages();
  kp->set_data(mallory_.mls->key_package());
  add_unknown(kp, 9);
  r = m.call(upload);
  EXPECT_EQ(error_of(r), v1::UNKNOWN_FIELD);
  EXPECT_NE(r->error().message().find("cercle.v1.KeyPackageUpload#9"), std::string::npos);
  v1::ClientFrame count;
  count.mutable_count_key_packages();
  r = m.call(count);
  ASSERT_TRUE(r && r->has_count_key_packages());
  EXPECT_EQ(r->count_key_packages().stored(), 0u);  // The upload was not executed.
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());     // And the refused send never reached bob.
}

TEST_F(RelayBadInputTest, OversizedFramesAreDiscardedAndTheConnectionStaysUsable) {
  const uint32_t max_frame = alice_.ws->hello_result().limits().max_frame_bytes();
  const uint32_t max_payload = alice_.ws->hello_result().limits().max_payload_bytes();
  ASSERT_EQ(max_frame, 256u * 1024);
  auto big = send_frame(conv_, 1, alice_.mls->encrypt_sized(conv_, 300 * 1024));
  big.set_request_id(77);
  ASSERT_NO_FATAL_FAILURE(
      expect_raw_error(*alice_.ws, big.SerializeAsString(), 77, v1::FRAME_TOO_LARGE));
  // Under the frame limit but over the payload limit.
  auto r = alice_.ws->call(send_frame(conv_, 1, alice_.mls->encrypt_sized(conv_, max_payload + 1)));
  EXPECT_EQ(error_of(r), v1::FRAME_TOO_LARGE);
  // The largest payload allowed goes through.
  ASSERT_NO_FATAL_FAILURE(send_ok(alice_, conv_, 1, alice_.mls->encrypt_sized(conv_, max_payload)));
  auto got = bob_.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload().size(), max_payload);
  // Several oversized frames in a row, and an oversized text message.
  for (uint64_t id = 80; id < 84; ++id) {
    big.set_request_id(id);
    ASSERT_NO_FATAL_FAILURE(
        expect_raw_error(*mallory_.ws, big.SerializeAsString(), id, v1::FRAME_TOO_LARGE));
  }
  ASSERT_NO_FATAL_FAILURE(expect_raw_error(*mallory_.ws, std::string(300 * 1024, 't'), 0,
                                           v1::FRAME_TOO_LARGE, /*text=*/true));
  ASSERT_NO_FATAL_FAILURE(expect_usable(*mallory_.ws));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

TEST_F(RelayBadInputTest, RequestsOutOfOrderAreRefusedUntilHelloAndAuthentication) {
  auto c = connect();
  ASSERT_TRUE(c);
  v1::ClientFrame challenge;
  challenge.mutable_get_challenge();
  EXPECT_EQ(error_of(c->call(challenge)), v1::HELLO_REQUIRED);
  EXPECT_EQ(error_of(c->call(send_frame(conv_, 1, message(alice_, conv_, "x")))),
            v1::HELLO_REQUIRED);
  // Versions this server does not speak; the connection may then say hello properly.
  for (auto version : {v1::PROTOCOL_VERSION_UNSPECIFIED, static_cast<v1::ProtocolVersion>(2)}) {
    v1::ClientFrame hello;
    hello.mutable_hello()->set_protocol_version(version);
    EXPECT_EQ(error_of(c->call(hello)), v1::UNSUPPORTED_VERSION);
  }
  v1::ClientFrame long_name;
  long_name.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  long_name.mutable_hello()->set_client_name(std::string(65, 'n'));
  EXPECT_EQ(error_of(c->call(long_name)), v1::INVALID_ARGUMENT);
  auto hello = c->hello();
  ASSERT_TRUE(hello && hello->has_hello());
  v1::ClientFrame again;
  again.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  EXPECT_EQ(error_of(c->call(again)), v1::INVALID_ARGUMENT);  // One hello per connection.
  EXPECT_EQ(error_of(c->call(send_frame(conv_, 1, message(alice_, conv_, "x")))),
            v1::NOT_AUTHENTICATED);
  EXPECT_EQ(error_of(c->call(create_group_frame())), v1::NOT_AUTHENTICATED);
  EXPECT_EQ(error_of(c->call(ack_frame(conv_, 1))), v1::NOT_AUTHENTICATED);

  // A challenge serves one attempt: a failed registration uses it up.
  DeviceKey key, other;
  v1::ClientFrame reg;
  reg.mutable_register_()->set_handle("newcomer");
  reg.mutable_register_()->set_device_public_key(key.public_key());
  *reg.mutable_register_()->mutable_link() =
      device_first_link("newcomer", key.public_key(), secret_bytes(key.sk));
  reg.mutable_register_()->set_signature(other.sign(c->transcript()));  // Wrong key.
  EXPECT_EQ(error_of(c->call(reg)), v1::AUTH_FAILED);
  reg.mutable_register_()->set_signature(key.sign(c->transcript()));
  EXPECT_EQ(error_of(c->call(reg)), v1::CHALLENGE_USED);
  ASSERT_TRUE(c->new_challenge());
  auto ok = c->register_device(key, "newcomer");
  ASSERT_TRUE(ok && ok->has_auth()) << (ok ? ok->error().message() : "timeout");
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

TEST_F(RelayBadInputTest, ConversationRequestsCheckIdsAndMembership) {
  const std::string unknown(16, '\x5a');
  // A real commit and a real message of alice's at epoch 1 (never accepted: each request below is
  // refused), sent under other conversation ids.
  BuiltCommit empty;
  ASSERT_NO_FATAL_FAILURE(build_commit(alice_, conv_, 1, {}, {}, &empty));
  const std::string text = message(alice_, conv_, "x");
  for (const std::string& bad : {std::string(15, 'c'), std::string(), std::string(17, 'c')}) {
    for (const auto& f : {send_frame(bad, 1, text), commit_to(empty, bad), ack_frame(bad, 1),
                          fetch_frame(bad), get_frame(bad)}) {
      EXPECT_EQ(error_of(alice_.ws->call(f)), v1::INVALID_ARGUMENT) << f.ShortDebugString();
    }
  }
  for (const auto& f : {send_frame(unknown, 1, text), commit_to(empty, unknown),
                        ack_frame(unknown, 1), fetch_frame(unknown), get_frame(unknown)}) {
    EXPECT_EQ(error_of(alice_.ws->call(f)), v1::NOT_FOUND) << f.ShortDebugString();
  }
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
  // mallory replays alice's message and commit.
  for (const auto& f : {send_frame(conv_, 1, text), empty.frame, fetch_frame(conv_)}) {
    EXPECT_EQ(error_of(mallory_.ws->call(f)), v1::FORBIDDEN) << f.ShortDebugString();
  }
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

// Requests a member may make, with values that are wrong.
TEST_F(RelayBadInputTest, ConversationRequestsCheckTheirValuesAgainstTheState) {
  BuiltCommit empty;
  ASSERT_NO_FATAL_FAILURE(build_commit(alice_, conv_, 1, {}, {}, &empty));
  const std::string text = message(alice_, conv_, "x");
  auto stale = alice_.ws->call(send_frame(conv_, 0, text));
  EXPECT_EQ(error_of(stale), v1::STALE_EPOCH);
  EXPECT_EQ(stale->error().current_epoch(), 1u);
  EXPECT_EQ(error_of(alice_.ws->call(send_frame(conv_, 1, ""))), v1::INVALID_ARGUMENT);
  auto no_commit = empty.frame;
  no_commit.mutable_commit()->clear_commit();
  EXPECT_EQ(error_of(alice_.ws->call(no_commit)), v1::INVALID_ARGUMENT);
  // MLS cannot add a member twice, nor one device twice (the leaves would share a signature key),
  // so in these the request says more than the commit does.
  auto member_again = empty.frame;
  member_again.mutable_commit()->add_add_devices(bob_.device_id);
  EXPECT_EQ(error_of(alice_.ws->call(member_again)), v1::INVALID_ARGUMENT);  // Already a member.
  BuiltCommit twice;
  ASSERT_NO_FATAL_FAILURE(build_commit(alice_, conv_, 1, {&mallory_}, {}, &twice));
  twice.frame.mutable_commit()->add_add_devices(mallory_.device_id);
  EXPECT_EQ(error_of(alice_.ws->call(twice.frame)), v1::INVALID_ARGUMENT);  // Listed twice.
  alice_.mls->discard(conv_);
  v1::ClientFrame weird_kind;
  weird_kind.mutable_create_conversation()->set_kind(static_cast<v1::ConversationKind>(9));
  EXPECT_EQ(error_of(alice_.ws->call(weird_kind)), v1::INVALID_ARGUMENT);
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

TEST_F(RelayBadInputTest, AccountAndKeyPackageRequestsWithBadValues) {
  auto& m = *mallory_.ws;
  v1::ClientFrame upload;
  upload.mutable_upload_key_packages()->add_key_packages()->set_data(mallory_.mls->key_package());
  auto first = m.call(upload);
  ASSERT_TRUE(first && first->has_upload_key_packages());
  EXPECT_EQ(error_of(m.call(upload)), v1::DUPLICATE_KEY_PACKAGE);
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());

  v1::ClientFrame add;
  add.mutable_add_device()->set_device_public_key("short");
  EXPECT_EQ(error_of(m.call(add)), v1::INVALID_ARGUMENT);
  add.mutable_add_device()->set_device_public_key(alice_.key.public_key());
  EXPECT_EQ(error_of(m.call(add)), v1::DEVICE_KEY_TAKEN);
  v1::ClientFrame lookup;
  lookup.mutable_lookup_account()->set_handle("x");
  EXPECT_EQ(error_of(m.call(lookup)), v1::INVALID_HANDLE);
  lookup.mutable_lookup_account()->set_handle("nobody-here");
  EXPECT_EQ(error_of(m.call(lookup)), v1::NOT_FOUND);
  v1::ClientFrame code;
  code.mutable_create_registration_code();
  EXPECT_EQ(error_of(m.call(code)), v1::FORBIDDEN);  // Not an admin.
  ASSERT_NO_FATAL_FAILURE(expect_usable(m));
  ASSERT_NO_FATAL_FAILURE(expect_round_trip());
}

}  // namespace
}  // namespace cercle::testing

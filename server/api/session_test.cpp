// Session through its interface, over a fake transport (api_fixture.h): frame parsing and
// strictness, the order of hello and authentication, dispatch, and the exact error of each refusal,
// each answered once with the request's id.
#include "server/api/session.h"

#include <gtest/gtest.h>

#include "server/api/api_fixture.h"

namespace cercle::api {
namespace {

class SessionTest : public ApiTest {
 protected:
  bool hello_ok(Conn& c) { return hello(c).has_hello(); }
};

// The encoding of a ClientFrame with only `request_id`, followed by `rest`.
std::string with_id(uint64_t request_id, std::string rest) {
  v1::ClientFrame f;
  f.set_request_id(request_id);
  return f.SerializeAsString() + rest;
}

TEST_F(SessionTest, AnUnparsableFrameIsAnsweredMalformedUnderItsRequestId) {
  Conn& c = connect();
  // request_id 7, then a length-delimited field whose length runs past the end.
  auto r = exchange(c, with_id(7, std::string("\x52\x7f\x01", 3)), 7);
  EXPECT_EQ(r.error().code(), v1::MALFORMED_FRAME);
  // Nothing readable at all: request id 0.
  r = exchange(c, std::string("\xff\xff\xff", 3), 0);
  EXPECT_EQ(r.error().code(), v1::MALFORMED_FRAME);
  EXPECT_TRUE(c.transport.sent.empty());
}

TEST_F(SessionTest, AFrameWithoutAKindOrWithAnUnknownFieldIsRefused) {
  Conn& c = connect();
  EXPECT_EQ(exchange(c, with_id(3, ""), 3).error().code(), v1::UNKNOWN_OPERATION);
  // A valid Hello, plus field 999 (varint 1) this protocol version does not define.
  v1::ClientFrame hello;
  hello.set_request_id(4);
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  const std::string unknown("\xb8\x3e\x01", 3);  // Tag (999 << 3) | 0, value 1.
  auto r = exchange(c, hello.SerializeAsString() + unknown, 4);
  EXPECT_EQ(r.error().code(), v1::UNKNOWN_FIELD);
  EXPECT_NE(r.error().message().find("999"), std::string::npos) << r.error().message();
  // The refused Hello did not count: the connection may still say hello.
  EXPECT_TRUE(hello_ok(c));
}

TEST_F(SessionTest, TextAndOversizedMessagesAreRefusedAndTheConnectionGoesOn) {
  Conn& c = connect();
  c.session->on_text_frame(with_id(5, ""));
  c.session->on_frame_too_large(6);
  auto frames = c.transport.take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].response().request_id(), 5u);
  EXPECT_EQ(frames[0].response().error().code(), v1::MALFORMED_FRAME);
  EXPECT_EQ(frames[1].response().request_id(), 6u);
  EXPECT_EQ(frames[1].response().error().code(), v1::FRAME_TOO_LARGE);
  EXPECT_FALSE(c.transport.closed);
  EXPECT_TRUE(hello_ok(c));
}

TEST_F(SessionTest, HelloComesFirstOnceAndSpeaksVersionOne) {
  Conn& c = connect();
  EXPECT_EQ(call(c, list_conversations()).error().code(), v1::HELLO_REQUIRED);
  v1::ClientFrame f;
  f.mutable_get_challenge();
  EXPECT_EQ(call(c, f).error().code(), v1::HELLO_REQUIRED);
  v1::ClientFrame bad;
  bad.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_UNSPECIFIED);
  EXPECT_EQ(call(c, bad).error().code(), v1::UNSUPPORTED_VERSION);
  bad.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  bad.mutable_hello()->set_client_name(std::string(65, 'n'));
  EXPECT_EQ(call(c, bad).error().code(), v1::INVALID_ARGUMENT);

  auto h = hello(c);
  ASSERT_TRUE(h.has_hello()) << h.error().message();
  EXPECT_EQ(h.hello().instance_id(), domain_->instance_id());
  EXPECT_EQ(h.hello().challenge().size(), 32u);
  EXPECT_EQ(h.hello().limits().max_frame_bytes(), hub_.limits().max_frame_bytes);
  EXPECT_EQ(hello(c).error().code(), v1::INVALID_ARGUMENT) << "a second hello";
  EXPECT_EQ(call(c, list_conversations()).error().code(), v1::NOT_AUTHENTICATED);
}

TEST_F(SessionTest, EachChallengeServesOneAuthenticationAttempt) {
  domain::Device d;
  ASSERT_TRUE(register_device(d, "alice").ok());
  Conn& c = connect();
  auto h = hello(c);
  ASSERT_TRUE(h.has_hello());
  const std::string first = h.hello().challenge();
  v1::ClientFrame auth;
  auth.mutable_authenticate()->set_device_public_key(d.public_key());
  auth.mutable_authenticate()->set_signature(d.sign(signed_transcript("another challenge")));
  EXPECT_EQ(call(c, auth).error().code(), v1::AUTH_FAILED);
  // The right signature now comes too late: the challenge went with the failed attempt.
  auth.mutable_authenticate()->set_signature(d.sign(signed_transcript(first)));
  EXPECT_EQ(call(c, auth).error().code(), v1::CHALLENGE_USED);
  v1::ClientFrame again;
  again.mutable_get_challenge();
  auto fresh = call(c, again);
  ASSERT_TRUE(fresh.has_challenge());
  EXPECT_NE(fresh.challenge().challenge(), first);
  auth.mutable_authenticate()->set_signature(
      d.sign(signed_transcript(fresh.challenge().challenge())));
  auto ok = call(c, auth);
  ASSERT_TRUE(ok.has_auth()) << ok.error().message();
  EXPECT_EQ(ok.auth().device_id(), d.info.device_id);
  EXPECT_TRUE(c.session->authenticated());
  EXPECT_EQ(c.session->device(), d.info.device_id);
  // Authentication steps are over for this connection.
  EXPECT_EQ(call(c, auth).error().code(), v1::ALREADY_AUTHENTICATED);
  EXPECT_EQ(call(c, again).error().code(), v1::ALREADY_AUTHENTICATED);
}

TEST_F(SessionTest, RegisteringAuthenticatesTheConnectionAsTheNewDevice) {
  domain::Device d;
  Conn& c = connect();
  auto h = hello(c);
  ASSERT_TRUE(h.has_hello());
  v1::ClientFrame reg;
  reg.mutable_register_()->set_handle("bob");
  reg.mutable_register_()->set_device_public_key(d.public_key());
  reg.mutable_register_()->set_signature(d.sign(signed_transcript(h.hello().challenge())));
  *reg.mutable_register_()->mutable_link() = first_link(d, "bob");
  auto r = call(c, reg);
  ASSERT_TRUE(r.has_auth()) << r.error().message();
  EXPECT_EQ(r.auth().handle(), "bob");
  EXPECT_TRUE(c.session->authenticated());
  EXPECT_EQ(hub_.online_sessions(), 1u);
  auto listed = call(c, list_conversations());
  ASSERT_TRUE(listed.has_conversations()) << listed.error().message();
  EXPECT_EQ(listed.conversations().conversations_size(), 0);
  EXPECT_EQ(call(c, reg).error().code(), v1::ALREADY_AUTHENTICATED);
}

TEST_F(SessionTest, EveryRequestIsAnsweredOnceUnderItsIdAndUnknownKindsAreRefused) {
  domain::Device d;
  ASSERT_TRUE(register_device(d, "carol").ok());
  Conn& c = sign_in(d);
  for (uint64_t id : {11u, 12u, 13u}) {
    auto r = call(c, list_conversations(), id);
    EXPECT_EQ(r.request_id(), id);
    EXPECT_TRUE(r.has_conversations());
  }
  v1::ClientFrame get;
  get.mutable_get_conversation()->set_conversation_id("not an id");
  EXPECT_EQ(call(c, get).error().code(), v1::INVALID_ARGUMENT);
  EXPECT_TRUE(c.transport.sent.empty()) << "an answer more than requests";
}

TEST_F(SessionTest, WhileTheServerStopsRequestsAreRefusedWithARetryDelay) {
  Conn& c = connect();
  hub_.begin_shutdown();
  auto r = hello(c);
  EXPECT_EQ(r.error().code(), v1::SHUTTING_DOWN);
  EXPECT_EQ(r.error().retry_after_ms(), 1000u);
}

TEST_F(SessionTest, AClosedSessionAnswersNothingAndLeavesTheHub) {
  domain::Device d;
  ASSERT_TRUE(register_device(d, "dave").ok());
  Conn& c = sign_in(d);
  EXPECT_EQ(hub_.online_sessions(), 1u);
  c.session->on_closed();
  EXPECT_EQ(hub_.online_sessions(), 0u);
  v1::ClientFrame f = list_conversations();
  f.set_request_id(1);
  c.session->on_frame(f.SerializeAsString());
  pump_all();
  EXPECT_TRUE(c.transport.sent.empty());
}

}  // namespace
}  // namespace cercle::api

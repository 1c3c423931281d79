// ApiTest: a fixture for the api layer's unit tests (Session, Hub). The relay as server/net builds
// it, without the network: DomainTest's real Store, GroupCommitter and Domain (its completions run
// on the test thread, which plays the io_context thread), with a Hub as the domain's Outbox, and
// sessions over fake transport connections that record every frame they are handed.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proto/cercle.pb.h"
#include "server/api/connection.h"
#include "server/api/hub.h"
#include "server/api/session.h"
#include "server/domain/domain_fixture.h"

namespace cercle::api {

// A transport connection that keeps what it is handed, in order; its queue never fills unless a
// test says so.
class FakeConnection final : public Connection {
 public:
  struct Sent {
    SharedFrame frame;
    FrameKind kind;
  };

  bool send(SharedFrame frame, FrameKind kind) override {
    if (closed) return false;
    sent.push_back({std::move(frame), kind});
    return true;
  }
  size_t queue_limit() const override { return 1 << 20; }
  size_t queued_bytes() const override { return 0; }
  void resume_input() override { ++resumed; }
  void close(CloseReason r) override {
    closed = true;
    reason = r;
  }
  std::weak_ptr<void> life() override { return life_; }

  // The frames handed over since the last call, decoded.
  std::vector<v1::ServerFrame> take() {
    std::vector<v1::ServerFrame> out;
    for (const auto& s : sent) {
      v1::ServerFrame f;
      EXPECT_TRUE(f.ParseFromString(*s.frame));
      out.push_back(std::move(f));
    }
    sent.clear();
    return out;
  }

  std::vector<Sent> sent;
  bool closed = false;
  CloseReason reason = CloseReason::kNormal;
  int resumed = 0;

 private:
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

// One client connection: its transport and its session.
struct Conn {
  FakeConnection transport;
  std::unique_ptr<Session> session;
};

class ApiTest : public domain::DomainTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DomainTest::SetUp());
    // The same relay with the Hub as the domain's Outbox, as server/net/server.cpp builds it.
    domain_ = std::make_unique<domain::Domain>(
        config_, *store_, *committer_, clock_, hub_,
        [this](DeviceId device, uint32_t stored) { hub_.key_packages_low(device, stored); });
    hub_.bind(*domain_);
    ASSERT_TRUE(domain_->load().ok());
  }
  void TearDown() override {
    conns_.clear();  // Sessions detach from the Hub before the relay goes.
    DomainTest::TearDown();
  }

  // A new connection with its session.
  Conn& connect() {
    conns_.push_back(std::make_unique<Conn>());
    Conn& c = *conns_.back();
    c.session = std::make_unique<Session>(hub_, c.transport);
    return c;
  }

  // Hands `bytes` to the session as one binary message, runs the completions until the response to
  // `id` was sent, and returns it (and leaves every other frame in the transport).
  v1::Response exchange(Conn& c, std::string_view bytes, uint64_t id) {
    c.session->on_frame(bytes);
    std::optional<v1::Response> found;
    const auto find = [&] {
      for (auto it = c.transport.sent.begin(); it != c.transport.sent.end(); ++it) {
        v1::ServerFrame f;
        if (f.ParseFromString(*it->frame) && f.has_response() && f.response().request_id() == id) {
          found = f.response();
          c.transport.sent.erase(it);
          return true;
        }
      }
      return false;
    };
    pump_until(find);
    return found.value_or(v1::Response{});
  }

  // Sends `frame` with request id `id` and returns its response.
  v1::Response call(Conn& c, v1::ClientFrame frame, uint64_t id = 0) {
    if (id == 0) id = ++next_id_;
    frame.set_request_id(id);
    return exchange(c, frame.SerializeAsString(), id);
  }

  v1::Response hello(Conn& c) {
    v1::ClientFrame f;
    f.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
    f.mutable_hello()->set_client_name("api-test");
    return call(c, f);
  }

  // The transcript a device signs on a connection whose current challenge is `challenge`.
  std::string signed_transcript(const std::string& challenge) {
    return wire::auth_transcript(domain_->instance_id(), challenge, wire::kProtocolVersion);
  }

  // Hello then Authenticate with `d`'s key on a new connection.
  Conn& sign_in(domain::Device& d) {
    Conn& c = connect();
    auto h = hello(c);
    EXPECT_TRUE(h.has_hello());
    v1::ClientFrame f;
    f.mutable_authenticate()->set_device_public_key(d.public_key());
    f.mutable_authenticate()->set_signature(d.sign(signed_transcript(h.hello().challenge())));
    auto r = call(c, f);
    EXPECT_TRUE(r.has_auth()) << r.error().message();
    c.transport.sent.clear();
    return c;
  }

  static v1::ClientFrame list_conversations() {
    v1::ClientFrame f;
    f.mutable_list_conversations();
    return f;
  }

  Hub hub_{ApiLimits{}, RateLimits{}, clock_};
  std::vector<std::unique_ptr<Conn>> conns_;
  uint64_t next_id_ = 100;
};

}  // namespace cercle::api

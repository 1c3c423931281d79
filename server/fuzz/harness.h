// Harness: one fuzz input's relay. A copy of the world's template folder opened as a Runtime (kept
// for the next input when this one changed nothing, see finish()), and the protocol sessions of two
// device connections over fake transports: the actor, whose frames the input supplies, and an
// observer (a member of the group, authenticated) who receives what the actor's requests publish.
// Checks, after every frame, what the relay promises whatever a client sends: one well-formed
// response per request, frames that parse, deliveries in order without duplicates, a member list
// with one device per leaf; and after the last frame, that a restart reads back the same
// conversations and accounts. One thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "proto/cercle.pb.h"
#include "server/api/session.h"
#include "server/fuzz/runtime.h"
#include "server/fuzz/world.h"

namespace cercle::relay_fuzz {

// A transport as server/net's WebSocket session behaves towards its Session: a bounded send queue
// (replies and live deliveries past it close the connection, catch-up frames never do) that is
// written only when the input says so.
class FakeConnection final : public api::Connection {
 public:
  static constexpr size_t kQueueLimit = 64 * 1024;

  bool send(api::SharedFrame frame, api::FrameKind kind) override;
  size_t queue_limit() const override { return kQueueLimit; }
  size_t queued_bytes() const override { return queued_; }
  void resume_input() override {}
  void close(api::CloseReason) override { closing_ = true; }
  std::weak_ptr<void> life() override { return life_; }

  // The transport wrote everything queued.
  void written() { queued_ = 0; }
  bool closing() const { return closing_; }
  size_t responses() const { return responses_; }
  const v1::Response& last_response() const { return last_; }

 private:
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
  size_t queued_ = 0;
  bool closing_ = false;
  size_t responses_ = 0;
  v1::Response last_;
  std::map<std::string, uint64_t> delivered_;  // Last seq delivered, by conversation.
};

struct Snapshot;  // What a restart must read back.

// Where the actor's connection starts.
enum class Start { kNew, kHello, kAlice, kBob, kCarol, kPro, kCount };

class Harness {
 public:
  explicit Harness(Start start);
  ~Harness();

  // One binary message from the actor's client; checks the invariants once its writes settled.
  void frame(std::string_view bytes);
  void text_frame(std::string_view bytes);
  void frame_too_large(uint64_t request_id);
  // The actor's transport wrote its queue.
  void drained();
  void advance_clock_ms(int64_t ms) { rt_->clock().advance_ms(ms); }
  bool closed() const { return actor_conn_.closing(); }
  // Ends the connections, restarts the relay on its folder and checks that it reads back the same
  // conversations and accounts.
  void finish();

  // The actor's current challenge (after Start::kHello), for the corpus generator.
  const std::string& challenge() const { return challenge_; }
  // The last response the actor received (a device request's id), for the corpus generator.
  const v1::Response& last_response() const { return actor_conn_.last_response(); }

 private:
  void authenticate(api::Session& session, FakeConnection& conn, const Member& m);
  void expect_one_response(size_t before, uint64_t request_id, bool check_id);
  void check_state() const;

  std::filesystem::path dir_;
  Runtime* rt_ = nullptr;
  uint64_t writes_ = 0;  // rt_->writes() when the input started.
  FakeConnection actor_conn_;
  FakeConnection observer_conn_;
  std::unique_ptr<api::Session> actor_;
  std::unique_ptr<api::Session> observer_;
  std::string challenge_;
  std::unique_ptr<Snapshot> start_;
  uint64_t next_id_ = 1u << 30;  // Request ids of the fixture's own frames.
};

}  // namespace cercle::relay_fuzz

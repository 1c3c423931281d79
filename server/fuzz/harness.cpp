#include "server/fuzz/harness.h"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <tuple>

#include "proto/wire.h"

namespace cercle::relay_fuzz {

using MemberSnap = std::tuple<DeviceId, uint32_t, uint64_t, uint64_t>;  // leaf, join, left
struct ConvSnap {
  uint64_t epoch = 0;
  uint64_t last_seq = 0;
  bool has_policy = false;
  std::vector<MemberSnap> members;
  bool operator==(const ConvSnap&) const = default;
};
using AccountSnap = std::tuple<std::string, int, bool, bool, size_t>;
struct Snapshot {
  std::map<std::string, ConvSnap> conversations;
  std::map<AccountId, AccountSnap> accounts;
  bool operator==(const Snapshot&) const = default;
};

namespace {

// What a restart must read back: conversations with their members, accounts.
Snapshot snapshot(const domain::Domain& domain) {
  Snapshot s;
  for (const auto& [id, conv] : domain.conversations().all()) {
    ConvSnap c{conv.epoch, conv.last_seq, conv.policy.has_value(), {}};
    for (const auto& [device, m] : conv.members) {
      c.members.emplace_back(device, m.leaf, m.join_seq, m.left_seq);
    }
    s.conversations[id.hex()] = std::move(c);
  }
  for (const auto& [id, a] : domain.identity().accounts().accounts()) {
    s.accounts[id] = {a.handle, static_cast<int>(a.type), a.admin, a.suspended, a.devices.size()};
  }
  return s;
}

// CERCLE_RELAY_FUZZ_TRACE=1 prints every response (to see how far a seed gets).
bool trace() {
  static const bool on = std::getenv("CERCLE_RELAY_FUZZ_TRACE") != nullptr;
  return on;
}

api::PeerAddress address(uint8_t last) {
  api::PeerAddress a;
  a.bytes[0] = 10;
  a.bytes[3] = last;
  return a;
}

}  // namespace

bool FakeConnection::send(api::SharedFrame frame, api::FrameKind kind) {
  v1::ServerFrame f;
  if (!f.ParseFromString(*frame)) fail("the relay sent bytes that are not a ServerFrame");
  if (f.has_response()) {
    ++responses_;
    last_ = f.response();
    if (trace()) {
      std::fprintf(
          stderr, "  response %llu: %s\n", static_cast<unsigned long long>(last_.request_id()),
          last_.has_error()
              ? ("error " + std::to_string(last_.error().code()) + " " + last_.error().message())
                    .c_str()
              : "ok");
    }
  }
  if (closing_) return false;
  if (kind != api::FrameKind::kCatchUp && queued_ + frame->size() > kQueueLimit) {
    closing_ = true;  // As the transport does: the device reconnects and catches up.
    return false;
  }
  queued_ += frame->size();
  for (const auto& d : f.deliveries().deliveries()) {
    uint64_t& last = delivered_[d.conversation_id()];
    if (d.seq() <= last) {
      fail("entry " + std::to_string(d.seq()) + " delivered after entry " + std::to_string(last));
    }
    last = d.seq();
  }
  return true;
}

// The runtime inputs share while they change nothing (see finish()).
// Closed at exit before the scratch folder goes (world() registered its removal earlier).
static Runtime* g_runtime = nullptr;
static void close_shared_runtime() {
  delete g_runtime;
  g_runtime = nullptr;
}
static bool g_stale = true;  // The shared runtime's folder is no longer the template's copy.

Harness::Harness(Start start) {
  const World& w = world();
  static const bool closes_at_exit = std::atexit(close_shared_runtime) == 0;
  (void)closes_at_exit;
  dir_ = scratch_dir() / "work";
  if (!g_runtime || g_stale) {
    delete g_runtime;
    g_runtime = nullptr;
    std::filesystem::remove_all(dir_);
    std::filesystem::copy(w.template_dir, dir_, std::filesystem::copy_options::recursive);
    g_runtime = new Runtime(dir_, w.config, kStartMs);
  }
  g_stale = true;  // Until finish() finds otherwise.
  rt_ = g_runtime;
  rt_->begin_input();
  use_deterministic_random(1'000'000'000);
  writes_ = rt_->writes();
  actor_ = std::make_unique<api::Session>(rt_->hub(), actor_conn_);
  actor_->set_peer(address(1));
  observer_ = std::make_unique<api::Session>(rt_->hub(), observer_conn_);
  observer_->set_peer(address(2));
  authenticate(*observer_, observer_conn_, w[start == Start::kAlice ? kBob : kAlice]);
  switch (start) {
    case Start::kNew:
      break;
    case Start::kHello: {
      v1::ClientFrame hello;
      hello.set_request_id(next_id_++);
      hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
      actor_->on_frame(hello.SerializeAsString());
      challenge_ = actor_conn_.last_response().hello().challenge();
      if (challenge_.empty()) fail("hello failed in the fixture");
      break;
    }
    default:
      authenticate(*actor_, actor_conn_,
                   w[static_cast<Who>(static_cast<int>(start) - static_cast<int>(Start::kAlice))]);
  }
  rt_->drain();
  if (rt_->writes() != writes_) fail("authenticating wrote to the store");
  start_ = std::make_unique<Snapshot>(snapshot(rt_->domain()));
}

Harness::~Harness() {
  actor_.reset();
  observer_.reset();
}

void Harness::authenticate(api::Session& session, FakeConnection& conn, const Member& m) {
  v1::ClientFrame f;
  f.set_request_id(next_id_++);
  f.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  session.on_frame(f.SerializeAsString());
  const std::string challenge = conn.last_response().hello().challenge();
  f.Clear();
  f.set_request_id(next_id_++);
  auto* auth = f.mutable_authenticate();
  auth->set_device_public_key(m.public_key());
  auth->set_signature(
      m.sign(wire::auth_transcript(world().instance_id, challenge, wire::kProtocolVersion)));
  session.on_frame(f.SerializeAsString());
  if (!conn.last_response().has_auth()) fail("the fixture could not authenticate " + m.handle);
  rt_->drain();
}

void Harness::frame(std::string_view bytes) {
  if (closed()) return;
  v1::ClientFrame parsed;
  const bool ok = parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  const size_t before = actor_conn_.responses();
  actor_->on_frame(bytes);
  rt_->drain();
  expect_one_response(before, parsed.request_id(), ok);
}

void Harness::text_frame(std::string_view bytes) {
  if (closed()) return;
  const size_t before = actor_conn_.responses();
  actor_->on_text_frame(bytes);
  rt_->drain();
  expect_one_response(before, 0, false);
}

void Harness::frame_too_large(uint64_t request_id) {
  if (closed()) return;
  const size_t before = actor_conn_.responses();
  actor_->on_frame_too_large(request_id);
  rt_->drain();
  expect_one_response(before, request_id, true);
}

void Harness::drained() {
  actor_conn_.written();
  observer_conn_.written();
  if (!closed()) actor_->on_drained();
  if (!observer_conn_.closing()) observer_->on_drained();
  rt_->drain();
  check_state();
}

void Harness::expect_one_response(size_t before, uint64_t request_id, bool check_id) {
  const size_t n = actor_conn_.responses() - before;
  if (n != 1) fail("a request was answered " + std::to_string(n) + " times");
  if (check_id && actor_conn_.last_response().request_id() != request_id) {
    fail("a response carries another request's id");
  }
  if (observer_conn_.responses() != 2) fail("the observer got a response it did not ask for");
  check_state();
}

// The relay keeps its member list in step with the MLS tree: one active device per leaf.
void Harness::check_state() const {
  const domain::Identity& identity = rt_->domain().identity();
  for (const auto& [id, conv] : rt_->domain().conversations().all()) {
    std::set<uint32_t> leaves;
    for (const auto& [device, m] : conv.members) {
      if (!identity.device(device)) fail("a conversation member is not a known device");
      if (m.active() && !leaves.insert(m.leaf).second) fail("two active members on one leaf");
      if (m.cursor > conv.last_seq) fail("a cursor is past the end of the log");
    }
    if (conv.durable_seq > conv.last_seq) fail("durable_seq is past last_seq");
  }
  for (const auto& [id, device] : identity.accounts().devices()) {
    if (!identity.account(device.account)) fail("a device without its account");
  }
}

// An input that wrote nothing and left the state as it found it leaves the shared runtime to the
// next one; otherwise the relay is restarted on its folder and must read back what it held.
// Pending device requests live in memory only: left to the next input, they would make inputs
// depend on the ones before (and fill the account's quota, the clock never reaching their expiry).
void Harness::finish() {
  actor_.reset();
  observer_.reset();
  const Snapshot before = snapshot(rt_->domain());
  if (rt_->writes() == writes_ && !rt_->domain().conversations().has_dirty_cursors() &&
      rt_->domain().device_requests().pending() == 0 && before == *start_) {
    g_stale = false;
    return;
  }
  delete g_runtime;
  g_runtime = nullptr;
  Runtime again(dir_, world().config, kStartMs);
  const Snapshot after = snapshot(again.domain());
  for (const auto& [id, conv] : before.conversations) {
    auto it = after.conversations.find(id);
    if (it == after.conversations.end()) fail("conversation " + id + " is lost on restart");
    if (!(it->second == conv)) fail("conversation " + id + " reads back differently on restart");
  }
  if (after.conversations.size() != before.conversations.size()) {
    fail("a restart finds conversations that were not there");
  }
  if (after.accounts != before.accounts) fail("accounts read back differently on restart");
}

}  // namespace cercle::relay_fuzz

#include "bench/cercle_workload.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <memory>
#include <variant>

#include "cercle/mls/framing.h"
#include "proto/wire.h"
#include "testing/device_links.h"

namespace cercle::bench {

namespace {

constexpr int kAckEvery = 64;
// The payload starts with its send time (Workload::on_delivered).
constexpr size_t kSendTimeBytes = 8;

uint64_t kind_of(uint64_t request_id) { return request_id >> 56; }

// The send time an application message carries in the clear (its authenticated data), read
// without decrypting it; empty if it has none.
std::string send_time(std::string_view message) {
  auto decoded = mls::decode_exact<mls::MlsMessage>(
      mls::BytesView(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
  if (!decoded) return {};
  const auto* pm = std::get_if<mls::PrivateMessage>(&decoded->body);
  if (!pm) return {};
  return std::string(pm->authenticated_data.begin(), pm->authenticated_data.end());
}

thread_local v1::ServerFrame t_frame;

}  // namespace

void CercleWorkload::request(int index, Kind kind, v1::ClientFrame& frame) {
  frame.set_request_id((uint64_t{kind} << 56) | ++peers_[index].counter);
  conns_[index]->send(frame.SerializeAsString());
}

void CercleWorkload::start_peer(int index, bool registering) {
  auto conn = WsConn::create(ioc_);
  conns_[index] = conn;
  const uint32_t generation = ++peers_[index].generation;
  conn->on_message([this, index, registering, generation](std::string_view bytes) {
    if (generation == peers_[index].generation) on_message(index, bytes, registering);
  });
  conn->on_close([this, index, generation] {
    ++closed_;
    if (reconnecting_ && generation == peers_[index].generation) on_lost(index);
  });
  conn->connect(endpoint(), [this, index](bool ok) {
    if (!ok) {
      ++failed_;
      return void(fail("cannot connect"));
    }
    v1::ClientFrame hello;
    hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
    hello.mutable_hello()->set_client_name("cercle-bench");
    request(index, kHello, hello);
  });
}

void CercleWorkload::on_message(int index, std::string_view bytes, bool registering) {
  v1::ServerFrame& frame = t_frame;
  if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    ++failed_;
    return void(fail("unparsable server frame"));
  }
  if (frame.has_response()) return on_response(index, frame.response(), registering);
  if (!frame.has_deliveries()) return;
  for (const auto& d : frame.deliveries().deliveries()) on_delivery(index, d);
}

void CercleWorkload::on_response(int index, const v1::Response& r, bool registering) {
  Peer& peer = peers_[index];
  if (r.has_error()) {
    if (kind_of(r.request_id()) == kAck) return;
    ++failed_;
    return void(fail("request kind " + std::to_string(kind_of(r.request_id())) + ": " +
                     r.error().message()));
  }
  switch (kind_of(r.request_id())) {
    case kHello:
      return on_hello(index, r.hello(), registering);
    case kRegister:
    case kAuthenticate:
      return on_authenticated(index, r.auth());
    case kHead:
      peer.resend_after = std::max<uint64_t>(r.conversation().head_seq(), 1);
      if (peer.last_seq >= peer.resend_after) resend(index);
      return;
    case kUpload:
      peer.uploaded = true;
      ++uploaded_;
      return;
    case kCreate:
      peer.conv = r.conversation().conversation_id();
      peer.mls->create(peer.conv);
      return;
    case kCommit:
      peer.mls->adopt(peer.conv);
      peer.epoch = r.commit().epoch();
      peer.in_group = true;
      ++in_group_;
      return;
    case kSend:
      return on_sent(index, r.request_id());
    default:
      return;
  }
}

// The relay's challenge: sign it to register (first connection) or authenticate.
void CercleWorkload::on_hello(int index, const v1::HelloResult& hello, bool registering) {
  Peer& peer = peers_[index];
  instance_id_ = hello.instance_id();
  const auto t = wire::auth_transcript(instance_id_, hello.challenge(), wire::kProtocolVersion);
  v1::ClientFrame f;
  if (registering) {
    auto* reg = f.mutable_register_();
    const std::string handle = "bench" + std::to_string(index);
    reg->set_handle(handle);
    reg->set_device_public_key(peer.key.public_key());
    reg->set_signature(peer.key.sign(t));
    *reg->mutable_link() = testing::device_first_link(handle, peer.key.public_key(),
                                                      testing::secret_bytes(peer.key.sk));
    return request(index, kRegister, f);
  }
  f.mutable_authenticate()->set_device_public_key(peer.key.public_key());
  f.mutable_authenticate()->set_signature(peer.key.sign(t));
  request(index, kAuthenticate, f);
}

void CercleWorkload::on_authenticated(int index, const v1::AuthResult& auth) {
  Peer& peer = peers_[index];
  peer.device_id = auth.device_id();
  peer.authenticated = true;
  if (!peer.mls) peer.mls = std::make_unique<testing::MlsMember>(auth.handle(), peer.key.sk);
  ++authenticated_;
  if (!reconnecting_) return;
  // Back after a reconnect: how far the log went, to know when the catch-up got there.
  peer.catching_up = true;
  peer.resend_after = 0;
  v1::ClientFrame f;
  f.mutable_get_conversation()->set_conversation_id(peer.conv);
  request(index, kHead, f);
}

void CercleWorkload::on_delivery(int index, const v1::Delivery& d) {
  Peer& peer = peers_[index];
  // Every peer reads one conversation: after a reconnect, catch-up starts at the cursor (the last
  // acknowledgement), so entries up to the last one received come again.
  if (!peer.conv.empty() && d.conversation_id() == peer.conv && d.seq() <= peer.last_seq) {
    ++duplicates_;
    return;
  }
  if (d.kind() == v1::WELCOME) {
    peer.conv = d.conversation_id();
    peer.epoch = d.epoch() + 1;
    if (!peer.mls->join(peer.conv, d.payload())) return void(fail("a Welcome did not open"));
    peer.in_group = true;
    ++in_group_;
  } else if (d.kind() == v1::APPLICATION) {
    on_application(index, d);
  }
  peer.last_seq = d.seq();
  if (peer.catching_up && peer.resend_after != 0 && peer.last_seq >= peer.resend_after)
    resend(index);
  if (++peer.unacked >= kAckEvery) {
    peer.unacked = 0;
    v1::ClientFrame ack;
    ack.mutable_ack()->set_conversation_id(peer.conv);
    ack.mutable_ack()->set_seq(peer.last_seq);
    request(index, kAck, ack);
  }
}

void CercleWorkload::on_application(int index, const v1::Delivery& d) {
  Peer& peer = peers_[index];
  if (d.sender_device() == peer.device_id) return on_own_entry(index, d);
  std::string payload;
  if (crypto_) {
    auto plain = peer.mls->decrypt(peer.conv, d.payload());
    if (!plain) return void(fail("a message did not decrypt"));
    payload = std::move(*plain);
  } else {
    payload = send_time(d.payload());
  }
  if (counted_before(peer, d.sender_device(), payload.substr(0, kSendTimeBytes))) {
    ++duplicates_;
    return;
  }
  on_delivered(payload);
}

// A sender's messages carry increasing send times, and those sent again after a reconnect follow
// the ones the relay had stored: one whose send time is not after the last counted from its sender
// is a copy of a message already counted.
bool CercleWorkload::counted_before(Peer& peer, uint64_t sender, const std::string& send_time) {
  if (send_time.size() < kSendTimeBytes) return false;
  int64_t t;
  std::memcpy(&t, send_time.data(), sizeof t);
  for (auto& [device, last] : peer.last_counted) {
    if (device != sender) continue;
    int64_t before;
    std::memcpy(&before, last.data(), sizeof before);
    if (t <= before) return true;
    last = send_time;
    return false;
  }
  peer.last_counted.emplace_back(sender, send_time);
  return false;
}

// Its own messages come back only in a catch-up (the relay sends no live copy to the sender):
// nothing to count, but one it had no acknowledgement for was stored.
void CercleWorkload::on_own_entry(int index, const v1::Delivery& d) {
  auto& sending = peers_[index].sending;
  const std::string time = send_time(d.payload());  // Readable without decrypting.
  auto it = std::find_if(sending.begin(), sending.end(), [&](const Unacked& m) {
    return m.payload.compare(0, kSendTimeBytes, time) == 0;
  });
  if (it == sending.end()) return;
  sending.erase(it);
  on_acked(index);
}

void CercleWorkload::resend(int index) {
  Peer& peer = peers_[index];
  peer.catching_up = false;
  for (auto& m : peer.sending) {
    if (m.request_id != 0) ++resent_;
    transmit(index, m);
  }
}

void CercleWorkload::send_message(int index, std::string payload) {
  Peer& peer = peers_[index];
  peer.sending.push_back(Unacked{std::move(payload), 0});
  // While it reconnects and catches up, the message waits behind the unacknowledged ones.
  if (peer.authenticated && !peer.catching_up) transmit(index, peer.sending.back());
}

void CercleWorkload::transmit(int index, Unacked& message) {
  Peer& peer = peers_[index];
  v1::ClientFrame f;
  auto* send = f.mutable_send();
  send->set_conversation_id(peer.conv);
  send->set_epoch(peer.epoch);
  // The relay takes only MLS application messages: every sender encrypts (again, for a message
  // sent again). The send time also travels in the clear (authenticated data), for receivers that
  // do not decrypt.
  send->set_payload(
      peer.mls->encrypt(peer.conv, message.payload, message.payload.substr(0, kSendTimeBytes)));
  request(index, kSend, f);
  message.request_id = f.request_id();
}

void CercleWorkload::on_sent(int index, uint64_t request_id) {
  auto& sending = peers_[index].sending;
  auto it = std::find_if(sending.begin(), sending.end(),
                         [&](const Unacked& m) { return m.request_id == request_id; });
  if (it == sending.end()) return;  // Answered on an earlier connection: already counted.
  sending.erase(it);
  on_acked(index);
}

// The relay closed the connection (or it failed): a real client comes back after a short pause,
// authenticates and catches up from its cursor.
void CercleWorkload::on_lost(int index) {
  ++connections_lost_;
  peers_[index].authenticated = false;
  auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, std::chrono::milliseconds(50));
  timer->async_wait([this, index, timer](const boost::system::error_code& ec) {
    if (!ec && reconnecting_) reconnect(index);
  });
}

void CercleWorkload::reconnect(int index) {
  ++reconnects_;
  peers_[index].unacked = 0;
  start_peer(index, false);
}

void CercleWorkload::annotate(RunResult& result) const {
  result.connections_lost = connections_lost_;
  result.reconnects = reconnects_;
  result.resent = resent_;
  result.duplicates = duplicates_;
  if (result.complete) return;
  int down = 0;
  for (const auto& p : peers_) down += p.authenticated ? 0 : 1;
  result.reason += "; connections lost " + std::to_string(connections_lost_) + ", reconnects " +
                   std::to_string(reconnects_) + ", clients not authenticated at the end " +
                   std::to_string(down);
}

bool CercleWorkload::connect_batch(int concurrency, bool registering) {
  const int n = static_cast<int>(peers_.size());
  conns_.assign(n, nullptr);
  authenticated_ = failed_ = started_ = 0;
  for (auto& p : peers_) p.authenticated = false;
  while (authenticated_ < n) {
    while (started_ < n && started_ - authenticated_ < concurrency)
      start_peer(started_++, registering);
    const int target = authenticated_ + 1;
    if (!run_until([&] { return authenticated_ >= target || failed_ > 0; },
                   std::chrono::seconds(30))) {
      return fail("timed out connecting: " + std::to_string(authenticated_) + " of " +
                  std::to_string(n));
    }
    if (failed_ > 0) return false;
  }
  return true;
}

bool CercleWorkload::register_all(int n, int concurrency) {
  peers_.clear();
  peers_.resize(n);  // One fresh key each: assign() would copy one key n times.
  return connect_batch(concurrency, true);
}

double CercleWorkload::authenticate_all(int concurrency) {
  const auto start = std::chrono::steady_clock::now();
  if (!connect_batch(concurrency, false)) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void CercleWorkload::close_all() {
  reconnecting_ = false;
  closed_ = 0;
  int open = 0;
  for (auto& c : conns_) {
    if (!c) continue;
    c->close();
    ++open;
  }
  run_until([&] { return closed_ >= open; }, std::chrono::seconds(10));
  conns_.clear();
}

bool CercleWorkload::form_groups(int group_size) {
  const int n = static_cast<int>(peers_.size());
  in_group_ = 0;
  for (int leader = 0; leader < n; leader += group_size) {
    v1::ClientFrame create;
    create.mutable_create_conversation()->set_kind(v1::GROUP);
    request(leader, kCreate, create);
  }
  if (!run_until(
          [&] {
            for (int leader = 0; leader < n; leader += group_size) {
              if (peers_[leader].conv.empty()) return failed_ > 0;
            }
            return true;
          },
          std::chrono::seconds(30)) ||
      failed_ > 0) {
    return fail("creating conversations failed");
  }
  for (int leader = 0; leader < n; leader += group_size) {
    std::vector<std::string> key_packages;
    v1::ClientFrame commit;
    auto* c = commit.mutable_commit();
    for (int m = leader + 1; m < std::min(n, leader + group_size); ++m) {
      c->add_add_devices(peers_[m].device_id);
      key_packages.push_back(peers_[m].key_package);
    }
    // A group's first commit sets its rules: the leader facilitates.
    auto built = peers_[leader].mls->commit(
        peers_[leader].conv, key_packages, {},
        testing::facilitating_policy(std::nullopt, "bench" + std::to_string(leader), {}));
    c->set_conversation_id(peers_[leader].conv);
    c->set_epoch(0);
    c->set_commit(built.message);
    c->set_welcome(built.welcome);
    *c->mutable_genesis() = *built.genesis;  // The group's start, as with every first commit.
    request(leader, kCommit, commit);
  }
  if (!run_until([&] { return in_group_ >= n || failed_ > 0; }, std::chrono::seconds(60)) ||
      failed_ > 0) {
    return fail("forming groups failed: " + std::to_string(in_group_) + " of " + std::to_string(n));
  }
  return true;
}

bool CercleWorkload::upload_key_packages(int group_size) {
  const int n = static_cast<int>(peers_.size());
  uploaded_ = 0;
  int expected = 0;
  for (int i = 0; i < n; ++i) {
    if (i % group_size == 0) continue;  // Leaders create groups; they are not added.
    peers_[i].key_package = peers_[i].mls->key_package();
    v1::ClientFrame f;
    f.mutable_upload_key_packages()->add_key_packages()->set_data(peers_[i].key_package);
    request(i, kUpload, f);
    ++expected;
  }
  if (!run_until([&] { return uploaded_ >= expected || failed_ > 0; }, std::chrono::seconds(60)) ||
      failed_ > 0) {
    return failed_ > 0 ? false : fail("uploading key packages timed out");
  }
  return true;
}

bool CercleWorkload::setup(const RunOptions& options) {
  if (!register_all(options.connections, 256)) return false;
  if (!upload_key_packages(options.group_size)) return false;
  if (!form_groups(options.group_size)) return false;
  reconnecting_ = true;
  return true;
}

}  // namespace cercle::bench

// Connection exhaustion against the real server: a connection that does not authenticate in time
// is closed (answering pings does not save it), one address holds at most a few connections
// (behind a trusted proxy, the forwarded address), a message left half-sent is dropped at its
// deadline, and the buffers of half-sent messages share one budget past which a connection is
// closed, while an honest client's requests keep flowing throughout.
//
// The attackers are raw sockets speaking just enough WebSocket by hand, from other loopback
// addresses (127.0.0.2, 127.0.0.3) than the honest clients (127.0.0.1), so that per-address limits
// can tell them apart.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testing/relay_fixture.h"

namespace cercle::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP connection from a chosen loopback address that speaks WebSocket by hand.
class RawPeer {
 public:
  RawPeer(uint16_t port, const char* from) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
      close();
    }
  }
  ~RawPeer() { close(); }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends the upgrade request and reads the answer's head. Returns its HTTP status, 0 when the
  // server closed the connection without answering, -1 on a timeout.
  int upgrade(const std::string& extra_headers = {}) {
    if (fd_ < 0) return 0;
    send_all(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        extra_headers + "\r\n");
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
      const int r = read_some(head, 5000);
      if (r == 0) return head.empty() ? 0 : -1;
      if (r < 0) return -1;
    }
    in_ = head.substr(head.find("\r\n\r\n") + 4);
    return std::stoi(head.substr(9, 3));
  }

  // A client frame header (masked with a zero key, so the payload goes as it is).
  static std::string frame_header(uint8_t opcode, uint64_t length) {
    std::string h(1, static_cast<char>(0x80 | opcode));
    if (length < 126) {
      h += static_cast<char>(0x80 | length);
    } else if (length < 65536) {
      h += static_cast<char>(0x80 | 126);
      h += static_cast<char>(length >> 8);
      h += static_cast<char>(length & 0xff);
    } else {
      h += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) h += static_cast<char>((length >> (8 * i)) & 0xff);
    }
    return h + std::string(4, '\0');
  }
  bool send_message(std::string_view payload) {
    return send_all(frame_header(2, payload.size())) && send_all(payload);
  }
  bool ping() { return send_all(frame_header(9, 0)); }

  // Waits until the server closes the connection, reading (and pinging every `ping_ms` if set).
  // Returns the code of the server's close frame as soon as it comes, 0 when the server dropped
  // the connection without one, or nullopt on a timeout.
  std::optional<int> wait_closed(std::chrono::milliseconds timeout, int ping_ms = 0) {
    const auto deadline = Clock::now() + timeout;
    auto next_ping = Clock::now();
    while (Clock::now() < deadline) {
      if (ping_ms && Clock::now() >= next_ping) {
        ping();
        next_ping = Clock::now() + std::chrono::milliseconds(ping_ms);
      }
      const int r = read_some(in_, 100);
      if (r == 0 || close_code() != 0) return close_code();
    }
    return std::nullopt;
  }

  // Everything the server sends until it closes the connection (bounded): an HTTP answer.
  std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && read_some(in_, 100) != 0) {
    }
    return in_;
  }

  // The server's complete frames received so far, as (opcode, payload); server frames are not
  // masked.
  std::vector<std::pair<int, std::string>> frames() const {
    std::vector<std::pair<int, std::string>> out;
    size_t at = 0;
    while (at + 2 <= in_.size()) {
      const int op = static_cast<uint8_t>(in_[at]) & 0x0f;
      uint64_t len = static_cast<uint8_t>(in_[at + 1]) & 0x7f;
      size_t head = 2;
      const size_t extra = len == 126 ? 2 : len == 127 ? 8 : 0;
      if (at + head + extra > in_.size()) break;
      if (extra) {
        len = 0;
        for (size_t i = 0; i < extra; ++i) len = (len << 8) | static_cast<uint8_t>(in_[at + 2 + i]);
        head += extra;
      }
      if (at + head + len > in_.size()) break;
      out.emplace_back(op, in_.substr(at + head, len));
      at += head + len;
    }
    return out;
  }

  // The code of the server's close frame, 0 if none came.
  int close_code() const {
    for (const auto& [op, payload] : frames()) {
      if (op == 8 && payload.size() >= 2)
        return (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]);
    }
    return 0;
  }

  // Waits (bounded) until `count` frames of opcode `op` came; false on a timeout or a close.
  bool wait_frames(int op, size_t count,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const auto all = frames();
      if (static_cast<size_t>(std::count_if(
              all.begin(), all.end(), [&](const auto& f) { return f.first == op; })) >= count) {
        return true;
      }
      if (read_some(in_, 100) == 0) return false;
    }
    return false;
  }

 private:
  // Reads what is there within `ms`. Returns 1 (read something or nothing yet), 0 (closed), -1.
  int read_some(std::string& out, int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return 1;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return 0;  // End of stream or reset: closed either way.
    out.append(buf, static_cast<size_t>(n));
    return 1;
  }

  int fd_ = -1;
  std::string in_;
};

class RelayConnectionLimitsTest : public RelayFixture {
 protected:
  void start(const std::string& limits) {
    ASSERT_NO_FATAL_FAILURE(
        start_server({"--config", write_config("[server]\ntrusted_proxies = [\"127.0.0.3\"]\n"
                                               "[limits]\n" +
                                               limits)}));
  }

  // A metric's value from /metrics (-1 if absent).
  double metric(const std::string& name) {
    const std::string text = metrics_text();
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  }

  std::string metrics_text();

  // Waits (bounded) until `name` reaches `value`.
  bool metric_becomes(const std::string& name, double value) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (metric(name) == value) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // An honest device, authenticated from 127.0.0.1: its round trips prove the server answers.
  void honest_round_trip(TestDevice& d) {
    v1::ClientFrame f;
    f.mutable_count_key_packages();
    auto r = d.ws->call(f);
    ASSERT_TRUE(r && r->has_count_key_packages()) << (r ? r->error().message() : "timeout");
  }
};

std::string RelayConnectionLimitsTest::metrics_text() {
  RawPeer c(server_->port(), "127.0.0.1");
  EXPECT_TRUE(c.send_all("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  return c.read_all();
}

TEST_F(RelayConnectionLimitsTest, ConnectionsThatDoNotAuthenticateInTimeAreClosed) {
  ASSERT_NO_FATAL_FAILURE(start("auth_timeout_s = 2\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  // Says nothing, but pings: activity that used to keep such a connection open for ever.
  RawPeer silent(server_->port(), "127.0.0.2");
  ASSERT_EQ(silent.upgrade(), 101);
  auto hello_only = connect();
  ASSERT_TRUE(hello_only->hello());
  EXPECT_EQ(silent.wait_closed(std::chrono::seconds(15), 200), 1008);
  int code = 0;
  ASSERT_TRUE(hello_only->wait_closed(std::chrono::seconds(15), &code));
  EXPECT_EQ(code, 1008);
  // alice authenticated before both and is past the deadline too: her connection stays.
  ASSERT_NO_FATAL_FAILURE(honest_round_trip(alice));
  EXPECT_FALSE(alice.ws->is_closed());
  EXPECT_EQ(metric("cercle_auth_timeouts_total"), 2);
  // A new connection that authenticates in time is served as usual.
  auto again = connect();
  ASSERT_TRUE(again->hello_and_authenticate(alice.key)) << again->last_error();
}

TEST_F(RelayConnectionLimitsTest, OneAddressHoldsAtMostItsShareOfConnections) {
  ASSERT_NO_FATAL_FAILURE(start("max_connections_per_address = 3\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));  // From 127.0.0.1.
  std::vector<std::unique_ptr<RawPeer>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawPeer>(server_->port(), "127.0.0.2"));
    ASSERT_EQ(held.back()->upgrade(), 101) << i;
  }
  RawPeer fourth(server_->port(), "127.0.0.2");
  EXPECT_EQ(fourth.upgrade(), 0);  // Closed before a byte is read.
  ASSERT_NO_FATAL_FAILURE(honest_round_trip(alice));
  EXPECT_EQ(metric("cercle_connections_refused_per_address_total"), 1);

  // One closes: the address may connect again (as soon as the server saw it go).
  held.front()->close();
  int refused_meanwhile = 0;
  int status = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    held.front() = std::make_unique<RawPeer>(server_->port(), "127.0.0.2");
    status = held.front()->upgrade();
    if (status == 101) break;
    ++refused_meanwhile;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(status, 101);
  EXPECT_EQ(metric("cercle_connections_refused_per_address_total"), 1 + refused_meanwhile);

  // Behind a trusted proxy, the forwarded address is counted, and refused with 429.
  std::vector<std::unique_ptr<RawPeer>> proxied;
  for (int i = 0; i < 3; ++i) {
    proxied.push_back(std::make_unique<RawPeer>(server_->port(), "127.0.0.3"));
    ASSERT_EQ(proxied.back()->upgrade("X-Forwarded-For: 198.51.100.7\r\n"), 101) << i;
  }
  RawPeer over(server_->port(), "127.0.0.3");
  EXPECT_EQ(over.upgrade("X-Forwarded-For: 198.51.100.7\r\n"), 429);
  RawPeer other(server_->port(), "127.0.0.3");
  EXPECT_EQ(other.upgrade("X-Forwarded-For: 198.51.100.8\r\n"), 101);
  EXPECT_EQ(metric("cercle_connections_refused_per_address_total"), 2 + refused_meanwhile);
  ASSERT_NO_FATAL_FAILURE(honest_round_trip(alice));
}

// A hello request, serialised, for raw peers.
std::string hello_bytes() {
  v1::ClientFrame f;
  f.set_request_id(1);
  f.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  return f.SerializeAsString();
}

TEST_F(RelayConnectionLimitsTest, AMessageLeftHalfSentIsDroppedAtItsDeadline) {
  ASSERT_NO_FATAL_FAILURE(start("frame_timeout_s = 2\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  RawPeer half(server_->port(), "127.0.0.2");
  ASSERT_EQ(half.upgrade(), 101);
  ASSERT_TRUE(half.send_all(RawPeer::frame_header(2, 100'000) + std::string(1000, 'x')));
  // Another one sends its message in two parts, well within the deadline: it is answered.
  RawPeer slow(server_->port(), "127.0.0.2");
  ASSERT_EQ(slow.upgrade(), 101);
  const std::string hello = hello_bytes();
  ASSERT_TRUE(slow.send_all(RawPeer::frame_header(2, hello.size()) + hello.substr(0, 3)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(slow.send_all(hello.substr(3)));
  ASSERT_TRUE(slow.wait_frames(2, 1));
  v1::ServerFrame answer;
  ASSERT_TRUE(answer.ParseFromString(slow.frames().front().second));
  EXPECT_TRUE(answer.response().has_hello());

  EXPECT_EQ(half.wait_closed(std::chrono::seconds(15)), 0);  // Dropped: no close frame.
  EXPECT_EQ(metric("cercle_frame_timeouts_total"), 1);
  EXPECT_TRUE(metric_becomes("cercle_partial_frame_bytes", 0));
  // The one that finished its message is still there.
  ASSERT_TRUE(slow.ping());
  EXPECT_TRUE(slow.wait_frames(10, 1));
  ASSERT_NO_FATAL_FAILURE(honest_round_trip(alice));
}

// A Send whose payload makes the frame about `bytes` long; the relay answers INVALID_ARGUMENT
// (no such conversation id), which proves the whole frame was received.
v1::ClientFrame large_send(size_t bytes) {
  return send_frame("not-a-conv-id", 1, std::string(bytes, 'p'));
}

TEST_F(RelayConnectionLimitsTest, HalfSentMessagesShareABudgetAndOthersStillFlow) {
  ASSERT_NO_FATAL_FAILURE(start("partial_frames_bytes = 300000\n"));
  TestDevice alice;
  ASSERT_NO_FATAL_FAILURE(register_device("alice", &alice));
  RawPeer first(server_->port(), "127.0.0.2");
  ASSERT_EQ(first.upgrade(), 101);
  ASSERT_TRUE(first.send_all(RawPeer::frame_header(2, 200'000) + std::string(150'000, 'a')));
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (metric("cercle_partial_frame_bytes") < 150'000 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(metric("cercle_partial_frame_bytes"), 150'000);
  // A second one would take the budget past its limit: closed with 1013 (try again later).
  RawPeer second(server_->port(), "127.0.0.3");
  ASSERT_EQ(second.upgrade(), 101);
  ASSERT_TRUE(second.send_all(RawPeer::frame_header(2, 200'000) + std::string(150'000, 'b')));
  EXPECT_EQ(second.wait_closed(std::chrono::seconds(15)), 1013);
  EXPECT_EQ(metric("cercle_partial_frames_refused_total"), 1);
  EXPECT_LE(metric("cercle_partial_frame_bytes"), 300'000);
  // An honest client's requests still flow, small and not so small.
  ASSERT_NO_FATAL_FAILURE(honest_round_trip(alice));
  EXPECT_EQ(error_of(alice.ws->call(large_send(10'000))), v1::INVALID_ARGUMENT);
  // Once the half-sent message is gone, a message as large as the first goes through.
  first.close();
  EXPECT_TRUE(metric_becomes("cercle_partial_frame_bytes", 0));
  EXPECT_EQ(error_of(alice.ws->call(large_send(200'000))), v1::INVALID_ARGUMENT);
  EXPECT_EQ(metric("cercle_partial_frames_refused_total"), 1);
}

}  // namespace
}  // namespace cercle::testing

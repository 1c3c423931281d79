// Connection: what the api layer needs from a transport connection (a WebSocket in server/net).
// Called on the server's io_context thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace cercle::api {

// One encoded ServerFrame, shared by every connection it is sent to.
using SharedFrame = std::shared_ptr<const std::string>;

inline SharedFrame make_frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

// The client's IP address, compact: rate limits key on it (IPv6 by its /64, which one subscriber
// usually holds whole).
struct PeerAddress {
  std::array<uint8_t, 16> bytes{};
  bool v6 = false;

  // The rate-limit key: the IPv4 address, or the IPv6 /64 prefix, in hex.
  std::string key() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(v6 ? "6:" : "4:");
    for (size_t i = 0; i < (v6 ? 8u : 4u); ++i) {
      out.push_back(kHex[bytes[i] >> 4]);
      out.push_back(kHex[bytes[i] & 15]);
    }
    return out;
  }
};

enum class FrameKind {
  kReply,     // A response or an event.
  kDelivery,  // A live delivery.
  kCatchUp,   // A delivery read from storage.
};

enum class CloseReason {
  kNormal,     // 1000
  kGoingAway,  // 1001: the server is stopping.
  kTooSlow,    // 1013: the send queue overflowed; reconnect and catch up from storage.
  kPolicy,     // 1008: the client broke the protocol beyond repair.
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Queues a frame. Delivery frames (kDelivery, kCatchUp) may be coalesced into one WebSocket
  // message. When a kReply or kDelivery frame would take the queue past its limit, the connection
  // is closed with kTooSlow and the frame dropped: the device catches up on reconnect (sessions
  // check the room left before sending deliveries). kCatchUp frames are paced by the session (see
  // queue_limit()) and never cause a drop. A connection whose writes make no progress for the
  // configured stall time is dropped too.
  // Returns false when the frame was dropped (overflow, or the connection is closing).
  virtual bool send(SharedFrame frame, FrameKind kind) = 0;

  // The queue's limit in bytes.
  virtual size_t queue_limit() const = 0;

  // Bytes queued and not yet written.
  virtual size_t queued_bytes() const = 0;

  // Starts reading again after the session asked to pause (Session::wants_input() turned false).
  virtual void resume_input() = 0;

  // Closes the connection once the frames already queued are written.
  virtual void close(CloseReason reason) = 0;

  // A weak reference to the connection: completion callbacks hold it and do nothing once it
  // expired.
  virtual std::weak_ptr<void> life() = 0;
};

}  // namespace cercle::api

// Connection: what the api layer needs from a transport connection (a WebSocket in server/net).
// Called on the server's io_context thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace cercle::api {

// One encoded ServerFrame, shared by every connection it is sent to.
using SharedFrame = std::shared_ptr<const std::string>;

inline SharedFrame make_frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

enum class FrameKind {
  kReply,     // A response or an event.
  kDelivery,  // A live delivery.
  kCatchUp,   // A delivery read from storage.
};

enum class CloseReason {
  kNormal,        // 1000
  kGoingAway,     // 1001: the server is stopping.
  kTooSlow,       // 1013: the send queue overflowed; reconnect and catch up from storage.
  kPolicy,        // 1008: the client broke the protocol beyond repair.
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
};

}  // namespace cercle::api

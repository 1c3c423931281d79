// Sends Web Push messages (RFC 8030) to push services: each push encrypted for its device (RFC
// 8291), signed for by the instance's VAPID key (RFC 8292), POSTed over HTTPS with TTL and
// Urgency. The queue's rules (queue.h) bound memory and coalesce; retries follow 5xx, 429 and
// network errors; a 404 or 410 reports the subscription gone so that the caller drops it. Every
// step has a timeout, and everything runs on the sender's own strand: `send` only posts, so a slow
// push service never holds the caller. The payload, the keys and the endpoint's path are never
// logged. Thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "server/common/result.h"
#include "server/push/queue.h"
#include "server/push/vapid.h"

namespace boost::asio::ssl {
class context;
}

namespace cercle::push {

struct SenderOptions {
  std::string subject;  // The VAPID contact: "mailto:..." or "https://...".
  QueueLimits limits;
  EndpointRules endpoints;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);  // Resolve and connect.
  std::chrono::milliseconds io_timeout =
      std::chrono::seconds(10);                                  // Each of handshake, write, read.
  std::chrono::seconds token_lifetime = std::chrono::hours(12);  // At most 24 h.
  // Verifies push services; null: the system's CAs. Tests may pass their own.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// A subscription the push service says no longer exists (404 or 410), or whose endpoint resolved
// only to addresses a push may not go to (status 0). The caller drops it.
struct Gone {
  std::string device;
  std::string endpoint;
  int status = 0;
};

class Sender {
 public:
  // Runs on the sender's strand: must not block (post to your own executor).
  using GoneHandler = std::function<void(const Gone&)>;

  // Errors: kInvalidArgument for a bad subject.
  static Result<std::unique_ptr<Sender>> create(boost::asio::any_io_executor executor,
                                                VapidKey vapid, SenderOptions options,
                                                GoneHandler on_gone);
  ~Sender();  // Stops.
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Queues `push` and returns at once. Errors: kInvalidArgument (payload over kMaxPlaintext,
  // endpoint against the rules, malformed keys), kShuttingDown after stop().
  Status send(Push push);
  // Cancels requests under way and forgets waiting pushes; no callback runs after it returns on
  // the strand. Any thread.
  void stop();
  QueueStats stats() const;
  const VapidKey& vapid() const;

 private:
  struct Impl;
  explicit Sender(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cercle::push

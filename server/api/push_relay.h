// PushRelay: what the relay pushes (Web Push, server/push) to a device that has no connection when
// a message, an invitation or a séance opening arrives for it. The payload names only the kind and
// the conversation (proto/cercle.proto, RegisterPushSubscription): no content, sender or name; the
// push service learns only that a push happened. Sender::send only queues, so a slow push service
// never holds the relay; coalescing, retries and bounds are the Sender's.
//
// Lives on the server's io_context thread; not thread-safe.
#pragma once

#include <string>

#include "server/common/ids.h"
#include "server/domain/push_subscriptions.h"
#include "server/push/sender.h"
#include "server/push/subscription.h"

namespace cercle::api {

// The instance's push settings, known to sessions (HelloResult, RegisterPushSubscription).
struct PushSettings {
  bool enabled = false;
  push::EndpointRules endpoints;
  std::string public_key;  // The VAPID public key, 65 bytes; empty when push is off.
};

enum class PushKind { kMessage, kInvitation, kSeance };

// The payload's JSON (exact, for tests too): {"kind":"message","conversation":"<base64url id>"};
// an invitation has no conversation.
std::string push_payload(PushKind kind, const ConvId* conv);

class PushRelay {
 public:
  PushRelay(const domain::PushSubscriptions& subscriptions, push::Sender& sender)
      : subscriptions_(subscriptions), sender_(sender) {}

  // `device` has no connection: queues a push if it subscribed. `conv` is null for invitations.
  void offline(DeviceId device, PushKind kind, const ConvId* conv);

 private:
  const domain::PushSubscriptions& subscriptions_;
  push::Sender& sender_;
};

}  // namespace cercle::api

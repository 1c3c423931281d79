#include "server/api/push_relay.h"

#include "server/common/log.h"
#include "server/push/base64url.h"

namespace cercle::api {

namespace {

const char* kind_text(PushKind kind) {
  switch (kind) {
    case PushKind::kInvitation:
      return "invitation";
    case PushKind::kSeance:
      return "seance";
    case PushKind::kMessage:
      break;
  }
  return "message";
}

}  // namespace

std::string push_payload(PushKind kind, const ConvId* conv) {
  std::string out = std::string("{\"kind\":\"") + kind_text(kind) + "\"";
  // base64url has no character JSON must escape.
  if (conv) out += ",\"conversation\":\"" + push::base64url_encode(conv->view()) + "\"";
  return out + "}";
}

void PushRelay::offline(DeviceId device, PushKind kind, const ConvId* conv) {
  const domain::PushSubscriptionState* s = subscriptions_.find(device);
  if (!s) return;
  push::Push p;
  p.device = std::to_string(device);
  // One push per conversation per coalescing window. A séance opening has its own topic so that
  // a message right after it does not replace it (and its urgency) while it waits.
  const std::string id = conv ? push::base64url_encode(conv->view()) : std::string();
  p.topic = kind == PushKind::kInvitation ? "invitation"
            : kind == PushKind::kSeance   ? "seance:" + id
                                          : id;
  p.subscription = push::Subscription{s->endpoint, push::PushKeys{s->p256dh, s->auth}};
  p.payload = push_payload(kind, conv);
  if (kind == PushKind::kSeance) {
    // A séance is for now: worth waking the phone, worthless hours later.
    p.ttl = std::chrono::hours(1);
    p.urgency = push::Urgency::kHigh;
  } else {
    p.ttl = std::chrono::hours(24);
    p.urgency = push::Urgency::kNormal;
  }
  if (auto sent = sender_.send(std::move(p)); !sent) {
    log::debug("push.not_queued", {{"reason", sent.error().message}});
  }
}

}  // namespace cercle::api

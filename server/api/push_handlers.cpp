// Session's handlers for a device's Web Push subscription (RegisterPushSubscription,
// UnregisterPushSubscription).
#include "server/api/session.h"
#include "server/push/base64url.h"
#include "server/push/subscription.h"

namespace cercle::api {

namespace {

using Rc = v1::ClientFrame::RequestCase;

}  // namespace

void Session::on_push_request(uint64_t id, const v1::ClientFrame& frame) {
  if (auto limited = hub_.limit(Limited::kPushSubscription, peer_.key(), account_)) {
    return fail(id, *limited);
  }
  // Forgetting a subscription is allowed with push off too: it is the person's own data.
  if (frame.request_case() == Rc::kUnregisterPushSubscription) {
    return run_async<Ok>(
        id,
        [&](auto done) {
          hub_.domain().push_subscriptions().unsubscribe(device_, std::move(done));
        },
        [](Ok, v1::Response& r) { r.mutable_done(); });
  }
  const PushSettings& settings = hub_.push();
  if (!settings.enabled) {
    return fail(id, make_error(Errc::kForbidden, "push notifications are off on this instance"));
  }
  const auto& request = frame.register_push_subscription();
  // The same checks as for a browser's JSON subscription; each refusal names its field.
  auto checked =
      push::make_subscription(request.endpoint(), push::base64url_encode(request.p256dh()),
                              push::base64url_encode(request.auth()), settings.endpoints);
  if (!checked) return fail(id, checked.error());
  domain::PushSubscriptionState state{std::move(checked->endpoint), request.p256dh(),
                                      request.auth()};
  run_async<Ok>(
      id,
      [&](auto done) {
        hub_.domain().push_subscriptions().subscribe(device_, std::move(state), std::move(done));
      },
      [](Ok, v1::Response& r) { r.mutable_done(); });
}

}  // namespace cercle::api

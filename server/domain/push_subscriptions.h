// PushSubscriptions: each device's Web Push subscription (at most one), where the relay pushes
// while the device has no connection. The api layer checks a subscription (server/push) before it
// gets here; this service only keeps it, in memory and in its record, and forgets it when the
// person turns notifications off, when the push service says it is gone, or when the account is
// deleted. Every change is staged in a Change, so memory and disk move together. Lives on the
// domain's thread; not thread-safe. Callbacks run on that thread.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <unordered_map>

#include "server/domain/context.h"
#include "server/domain/identity.h"

namespace cercle::domain {

struct PushSubscriptionState {
  std::string endpoint;  // Its path is the push service's secret: never logged.
  std::string p256dh;    // 65 bytes.
  std::string auth;      // 16 bytes.
};

class PushSubscriptions {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  PushSubscriptions(Context ctx, const Identity& identity) : ctx_(ctx), identity_(identity) {}

  // Reads every stored subscription; call once at start-up, after the devices. A subscription of
  // a device that is no longer known is dropped. Errors: kInternal (a read failed).
  [[nodiscard]] Status load();

  // The device's subscription, or null.
  const PushSubscriptionState* find(DeviceId device) const;
  size_t size() const { return subscriptions_.size(); }

  // Keeps `subscription` for `actor`, replacing any earlier one. Errors: kNotAuthenticated (the
  // device or its account is gone).
  void subscribe(DeviceId actor, PushSubscriptionState subscription, Done<Ok> done);
  // Forgets the actor's subscription; Ok also when there was none.
  void unsubscribe(DeviceId actor, Done<Ok> done);
  // The push service said `endpoint` is gone: forgets the device's subscription unless it was
  // replaced by another endpoint since.
  void forget_gone(DeviceId device, const std::string& endpoint);
  // Stages forgetting these devices' subscriptions (their account is being deleted).
  void forget_devices(Change& change, std::span<const DeviceId> devices);

 private:
  void remove(DeviceId device, Done<Ok> done);

  Context ctx_;
  const Identity& identity_;
  std::unordered_map<DeviceId, PushSubscriptionState> subscriptions_;
};

}  // namespace cercle::domain

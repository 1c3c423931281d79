#include "server/domain/push_subscriptions.h"

#include "server/common/log.h"

namespace cercle::domain {

Status PushSubscriptions::load() {
  std::vector<DeviceId> orphans;
  auto s = ctx_.store.scan_push_subscriptions(
      [&](DeviceId device, const storage::PushSubscriptionRecord& r) {
        const AccountState* account = identity_.account_of(device);
        // A deleted account's subscriptions go with its deletion; one left over (a crash between
        // two versions' records) is dropped rather than pushed to.
        if (!account || account->deleted_ms != 0) return orphans.push_back(device);
        subscriptions_[device] = PushSubscriptionState{r.endpoint(), r.p256dh(), r.auth()};
      });
  if (!s) return s;
  if (!orphans.empty()) {
    Change change = ctx_.change();
    for (DeviceId d : orphans) change.batch().delete_push_subscription(d);
    std::move(change).commit(ctx_.committer, nullptr);
  }
  return Ok{};
}

const PushSubscriptionState* PushSubscriptions::find(DeviceId device) const {
  auto it = subscriptions_.find(device);
  return it == subscriptions_.end() ? nullptr : &it->second;
}

void PushSubscriptions::subscribe(DeviceId actor, PushSubscriptionState subscription,
                                  Done<Ok> done) {
  const AccountState* account = identity_.account_of(actor);
  if (!account || account->deleted_ms != 0) {
    return done(make_error(Errc::kNotAuthenticated, "unknown device"));
  }
  storage::PushSubscriptionRecord r;
  r.set_endpoint(subscription.endpoint);
  r.set_p256dh(subscription.p256dh);
  r.set_auth(subscription.auth);
  r.set_created_ms(ctx_.clock.now_ms());
  Change change = ctx_.change();
  change.batch().put_push_subscription(actor, r);
  change.on_commit([this, actor, subscription = std::move(subscription)]() mutable {
    subscriptions_[actor] = std::move(subscription);
  });
  std::move(change).commit(ctx_.committer, [done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(Ok{});
  });
}

void PushSubscriptions::unsubscribe(DeviceId actor, Done<Ok> done) {
  remove(actor, std::move(done));
}

void PushSubscriptions::forget_gone(DeviceId device, const std::string& endpoint) {
  const PushSubscriptionState* current = find(device);
  if (!current || current->endpoint != endpoint) return;
  remove(device, [device](Result<Ok> r) {
    if (r) log::info("push.subscription_dropped", {{"device", device}});
  });
}

void PushSubscriptions::remove(DeviceId device, Done<Ok> done) {
  if (!subscriptions_.contains(device)) return done(Ok{});
  Change change = ctx_.change();
  forget_devices(change, std::span<const DeviceId>(&device, 1));
  std::move(change).commit(ctx_.committer, [done = std::move(done)](const Status& s) {
    if (!s) return done(s.error());
    done(Ok{});
  });
}

void PushSubscriptions::forget_devices(Change& change, std::span<const DeviceId> devices) {
  for (DeviceId d : devices) {
    if (!subscriptions_.contains(d)) continue;
    change.batch().delete_push_subscription(d);
    change.on_commit([this, d] { subscriptions_.erase(d); });
  }
}

}  // namespace cercle::domain

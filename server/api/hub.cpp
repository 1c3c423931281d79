#include "server/api/hub.h"

#include <algorithm>

#include "proto/policy.pb.h"
#include "server/api/frames.h"
#include "server/api/session.h"

namespace cercle::api {

namespace {

const char* refusal(Limited what) {
  switch (what) {
    case Limited::kRegistration:
    case Limited::kAuthentication:
      return "too many attempts from this address: wait";
    case Limited::kKeyPackageFetch:
      return "too many key package fetches: wait";
    case Limited::kContactLinkChange:
      return "too many contact link changes: wait";
    case Limited::kConversation:
      return "too many new conversations: wait";
    case Limited::kPushSubscription:
      return "too many push subscription changes: wait";
    case Limited::kMessage:
      break;
  }
  return "too many messages: slow down";
}

// What a log entry is worth pushing as: a message or a séance opening. Nothing else (commits,
// proposals, other group events) wakes a phone.
std::optional<PushKind> push_kind_of(const storage::LogRecord& record) {
  if (record.kind() == static_cast<int>(domain::EntryKind::kApplication)) {
    return PushKind::kMessage;
  }
  if (record.kind() != static_cast<int>(domain::EntryKind::kEvent)) return std::nullopt;
  v1::GroupEvent event;
  v1::SeanceEvent seance;
  if (!event.ParseFromString(record.payload()) || !event.has_seance() ||
      !seance.ParseFromString(event.seance().event()) || !seance.has_opened()) {
    return std::nullopt;
  }
  return PushKind::kSeance;
}

}  // namespace

RateLimiter* Hub::account_limiter(Limited what) {
  switch (what) {
    case Limited::kMessage:
      return &account_messages_;
    case Limited::kKeyPackageFetch:
      return &key_package_fetches_;
    case Limited::kContactLinkChange:
      return &contact_link_changes_;
    case Limited::kConversation:
      return &conversations_;
    case Limited::kPushSubscription:
      return &push_subscriptions_;
    default:
      return nullptr;
  }
}

std::optional<Error> Hub::limit(Limited what, std::string_view ip, AccountId account) {
  const int64_t now = clock_.now_ms();
  uint64_t wait = 0;
  if (what == Limited::kRegistration) {
    wait = registrations_.take(ip, now);
  } else if (what == Limited::kAuthentication) {
    wait = auth_attempts_.take(ip, now);
  } else {
    // The account's own limit first: a refused request takes no token from the address.
    wait = account_limiter(what)->take(std::to_string(account), now);
    if (wait == 0) wait = ip_messages_.take(ip, now);
  }
  if (wait == 0) return std::nullopt;
  ++stats_.rate_limited;
  Error e = make_error(Errc::kRateLimited, refusal(what));
  e.retry_after_ms = wait;
  return e;
}

std::pair<Hub::Online::iterator, Hub::Online::iterator> Hub::sessions_of(DeviceId device) {
  return std::equal_range(online_.begin(), online_.end(),
                          std::pair<DeviceId, Session*>{device, nullptr},
                          [](const auto& a, const auto& b) { return a.first < b.first; });
}

void Hub::attach(DeviceId device, Session* session) {
  const std::pair<DeviceId, Session*> entry{device, session};
  online_.insert(std::upper_bound(online_.begin(), online_.end(), entry), entry);
}

void Hub::detach(DeviceId device, Session* session) {
  auto [first, last] = sessions_of(device);
  auto it = std::find_if(first, last, [&](const auto& e) { return e.second == session; });
  if (it != last) online_.erase(it);
  if (online_.empty()) Online().swap(online_);
}

void Hub::publish(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
                  std::span<const DeviceId> recipients) {
  if (record.kind() > 0 && record.kind() < 7) ++stats_.entries[record.kind()];
  // A commit may open a group to peers (or close it): the Groups service keeps the list.
  if (record.kind() == static_cast<int>(domain::EntryKind::kCommit))
    domain_->groups().on_commit(conv);
  stats_.delivery_lag.observe(static_cast<double>(clock_.now_ms() - record.time_ms()) / 1000.0);
  // Encoded at most twice (commit and welcome form), whatever the number of recipients.
  SharedFrame as_entry, as_welcome;
  // Devices with no connection get a push instead, if the entry is worth one.
  const std::optional<PushKind> push_kind = push_relay_ ? push_kind_of(record) : std::nullopt;
  for (DeviceId device : recipients) {
    auto [first, last] = sessions_of(device);
    if (first == last) {
      if (push_kind) push_relay_->offline(device, *push_kind, &conv);
      continue;
    }
    const bool welcome = record.added_devices_size() > 0 && is_welcome_for(record, device);
    SharedFrame& frame = welcome ? as_welcome : as_entry;
    if (!frame) frame = delivery_frame(conv, seq, record, welcome);
    // Safe to iterate: a session closing while it is handed a frame detaches later, from its
    // transport's completion handler, never during this call.
    for (auto it = first; it != last; ++it) {
      it->second->deliver_live(conv, seq, frame);
      ++stats_.deliveries;
    }
  }
}

void Hub::disconnect(const std::vector<DeviceId>& devices) {
  for (DeviceId device : devices) {
    auto [first, last] = sessions_of(device);
    // close() only starts closing: sessions detach later, so the range stays valid.
    for (auto it = first; it != last; ++it) it->second->close(CloseReason::kPolicy);
  }
}

size_t Hub::notify(std::span<const DeviceId> devices, const v1::Event& event) {
  SharedFrame bytes;
  size_t reached = 0;
  for (DeviceId device : devices) {
    auto [first, last] = sessions_of(device);
    if (first == last) {
      if (push_relay_ && event.has_invitation_received()) {
        push_relay_->offline(device, PushKind::kInvitation, nullptr);
      }
      continue;
    }
    if (!bytes) {
      v1::ServerFrame frame;
      *frame.mutable_event() = event;
      bytes = make_frame(frame.SerializeAsString());
    }
    for (auto it = first; it != last; ++it, ++reached) it->second->push_event(bytes);
  }
  return reached;
}

void Hub::key_packages_low(DeviceId device, uint32_t stored) {
  auto [first, last] = sessions_of(device);
  if (first == last) return;
  v1::ServerFrame frame;
  frame.mutable_event()->mutable_key_packages_low()->set_stored(stored);
  auto bytes = make_frame(frame.SerializeAsString());
  for (auto it = first; it != last; ++it) it->second->push_event(bytes);
}

}  // namespace cercle::api

#include "server/api/hub.h"

#include <algorithm>

#include "server/api/frames.h"
#include "server/api/session.h"

namespace cercle::api {

std::optional<Error> Hub::limit(Limited what, std::string_view ip, AccountId account) {
  const int64_t now = clock_.now_ms();
  uint64_t wait = 0;
  switch (what) {
    case Limited::kRegistration:
      wait = registrations_.take(ip, now);
      break;
    case Limited::kAuthentication:
      wait = auth_attempts_.take(ip, now);
      break;
    case Limited::kMessage:
      wait = std::max(account_messages_.take(std::to_string(account), now),
                      ip_messages_.take(ip, now));
      break;
  }
  if (wait == 0) return std::nullopt;
  ++stats_.rate_limited;
  Error e = make_error(Errc::kRateLimited, what == Limited::kMessage
                                               ? "too many messages: slow down"
                                               : "too many attempts from this address: wait");
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
  stats_.delivery_lag.observe(static_cast<double>(clock_.now_ms() - record.time_ms()) / 1000.0);
  // Encoded at most twice (commit and welcome form), whatever the number of recipients.
  SharedFrame as_entry, as_welcome;
  for (DeviceId device : recipients) {
    auto [first, last] = sessions_of(device);
    if (first == last) continue;
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
    if (first == last) continue;
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

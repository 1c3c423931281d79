// Hub: the api layer's shared state. It knows which devices are connected (and through which
// sessions), turns durable log entries into deliveries for them (it is the domain's Outbox), and
// holds the limits announced to clients.
//
// Lives on the server's io_context thread; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cercle/base/clock.h"
#include "server/api/push_relay.h"
#include "server/api/rate_limiter.h"
#include "server/common/metrics.h"
#include "server/domain/domain.h"
#include "server/domain/outbox.h"

namespace cercle::api {

class Session;

struct ApiLimits {
  uint32_t max_frame_bytes = 256 * 1024;
  uint32_t idle_timeout_s = 60;
  // Catch-up reads the log in slices, and reads the next slice only once the connection's queue
  // fell under the low-water mark, so a device far behind never floods its own queue.
  size_t catchup_entries = 128;
  size_t catchup_bytes = 256 * 1024;
  size_t catchup_low_water = 64 * 1024;
  // Requests of one connection waiting for a durable write; past it the connection stops reading.
  uint32_t max_inflight = 256;
};

// Rate limits: `per_second` tokens regained, at most `burst` at once; per_second 0 turns one off.
struct Rate {
  double per_second = 0;
  double burst = 1;
};

struct RateLimits {
  Rate registrations_per_ip{30.0 / 3600, 30};  // 30 an hour.
  Rate auth_attempts_per_ip{1.0, 60};          // 60 a minute.
  Rate messages_per_account{20, 200};
  Rate messages_per_ip{500, 5000};
  // Each fetch takes packages another device cannot get back, and is a synced write.
  Rate key_package_fetches_per_account{1.0, 60};           // 60 a minute.
  Rate contact_link_changes_per_account{30.0 / 3600, 30};  // Creations and revocations.
  Rate conversations_per_account{60.0 / 3600, 60};         // 60 an hour.
  // Each is a synced write and names a push service the relay will call.
  Rate push_subscriptions_per_account{30.0 / 3600, 30};  // 30 an hour.
};

struct HubStats {
  uint64_t deliveries = 0;  // Live deliveries handed to connections.
  uint64_t catchup_deliveries = 0;
  uint64_t rate_limited = 0;
  uint64_t entries[7] = {};  // Durable log entries by cercle.v1.DeliveryKind.
  // From a log entry's acceptance to its fan-out (the durable write included).
  metrics::Histogram delivery_lag{metrics::latency_buckets()};
};

// What a rate limit applies to. Those of an account also count against the address's message
// rate, so that many accounts behind one address are bounded together.
enum class Limited {
  kRegistration,
  kAuthentication,
  kMessage,
  kKeyPackageFetch,
  kContactLinkChange,
  kConversation,
  kPushSubscription,
};

class Hub final : public domain::Outbox {
 public:
  Hub(ApiLimits limits, RateLimits rates, const Clock& clock)
      : limits_(limits),
        clock_(clock),
        registrations_(rates.registrations_per_ip.per_second, rates.registrations_per_ip.burst),
        auth_attempts_(rates.auth_attempts_per_ip.per_second, rates.auth_attempts_per_ip.burst),
        account_messages_(rates.messages_per_account.per_second, rates.messages_per_account.burst),
        ip_messages_(rates.messages_per_ip.per_second, rates.messages_per_ip.burst),
        key_package_fetches_(rates.key_package_fetches_per_account.per_second,
                             rates.key_package_fetches_per_account.burst),
        contact_link_changes_(rates.contact_link_changes_per_account.per_second,
                              rates.contact_link_changes_per_account.burst),
        conversations_(rates.conversations_per_account.per_second,
                       rates.conversations_per_account.burst),
        push_subscriptions_(rates.push_subscriptions_per_account.per_second,
                            rates.push_subscriptions_per_account.burst) {}

  // Takes a token for a request from `ip` (and `account`, for messages). Returns the Error to
  // answer when a limit is reached (kRateLimited, with the time to wait), or nullopt.
  std::optional<Error> limit(Limited what, std::string_view ip, AccountId account = 0);

  // Binds the domain, which is built with this Hub as its Outbox. Call once, before any session.
  void bind(domain::Domain& domain) { domain_ = &domain; }
  domain::Domain& domain() { return *domain_; }
  const ApiLimits& limits() const { return limits_; }
  // Web Push: the settings sessions announce and check, and what pushes to devices with no
  // connection (null: push is off). Call before any session; `relay` outlives the Hub's use.
  void set_push(PushSettings settings, PushRelay* relay) {
    push_settings_ = std::move(settings);
    push_relay_ = relay;
  }
  const PushSettings& push() const { return push_settings_; }

  // Registers an authenticated session for live deliveries; it must detach before it is destroyed.
  void attach(DeviceId device, Session* session);
  void detach(DeviceId device, Session* session);

  void publish(const ConvId& conv, uint64_t seq, const storage::LogRecord& record,
               std::span<const DeviceId> recipients) override;

  size_t notify(std::span<const DeviceId> devices, const v1::Event& event) override;

  // Closes every connection of these devices (their account was suspended).
  void disconnect(const std::vector<DeviceId>& devices);

  // Tells the device's sessions that its stock of key packages runs low.
  void key_packages_low(DeviceId device, uint32_t stored);

  // From now on requests are answered kShuttingDown.
  void begin_shutdown() { shutting_down_ = true; }
  bool shutting_down() const { return shutting_down_; }

  size_t online_sessions() const { return online_.size(); }
  HubStats& stats() { return stats_; }

 private:
  ApiLimits limits_;
  const Clock& clock_;
  RateLimiter registrations_;
  RateLimiter auth_attempts_;
  RateLimiter account_messages_;
  RateLimiter ip_messages_;
  RateLimiter key_package_fetches_;
  RateLimiter contact_link_changes_;
  RateLimiter conversations_;
  RateLimiter push_subscriptions_;
  domain::Domain* domain_ = nullptr;
  PushSettings push_settings_;
  PushRelay* push_relay_ = nullptr;
  // Sorted by device: 16 bytes a connected session, found by binary search.
  using Online = std::vector<std::pair<DeviceId, Session*>>;
  std::pair<Online::iterator, Online::iterator> sessions_of(DeviceId device);
  // The per-account limiter of `what`; null for the per-address ones.
  RateLimiter* account_limiter(Limited what);
  Online online_;
  bool shutting_down_ = false;
  HubStats stats_;
};

}  // namespace cercle::api

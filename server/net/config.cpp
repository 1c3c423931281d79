#include "server/net/config.h"

#define TOML_EXCEPTIONS 0
#define TOML_HEADER_ONLY 1  // The packaged library is built with exceptions: another ABI.
#include <toml++/toml.h>

#include <charconv>
#include <utility>

#include "server/push/vapid.h"

namespace cercle::net {

namespace {

Error bad(std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); }

Status parse_registration(std::string_view v, domain::RegistrationPolicy& out) {
  if (v == "open") {
    out = domain::RegistrationPolicy::kOpen;
  } else if (v == "invite-code") {
    out = domain::RegistrationPolicy::kInviteCode;
  } else {
    return bad("registration must be \"open\" or \"invite-code\", not \"" + std::string(v) + "\"");
  }
  return Ok{};
}

Status parse_bool(std::string_view v, bool& out) {
  if (v == "true" || v == "on" || v == "1") {
    out = true;
  } else if (v == "false" || v == "off" || v == "0") {
    out = false;
  } else {
    return bad("expected true or false, not \"" + std::string(v) + "\"");
  }
  return Ok{};
}

// Reads an integer key into `out` if present; fails when it is out of [lo, hi].
template <class T>
Status read_int(const toml::table& t, std::string_view path, T& out, int64_t lo, int64_t hi) {
  auto node = t.at_path(path);
  if (!node) return Ok{};
  auto v = node.value<int64_t>();
  if (!v || *v < lo || *v > hi) {
    return bad(std::string(path) + " must be an integer from " + std::to_string(lo) + " to " +
               std::to_string(hi));
  }
  out = static_cast<T>(*v);
  return Ok{};
}

// Reads "<name>" (tokens per period) and "<name>_burst" into a Rate; `period_s` converts to per
// second.
Status read_rate(const toml::table& t, const std::string& name, double period_s, api::Rate& out) {
  int64_t count = static_cast<int64_t>(out.per_second * period_s + 0.5);
  int64_t burst = static_cast<int64_t>(out.burst);
  const bool had_count = static_cast<bool>(t.at_path(name));
  for (Status s : {read_int(t, name, count, 0, 1'000'000),
                   read_int(t, name + "_burst", burst, 1, 10'000'000)}) {
    if (!s) return s;
  }
  out.per_second = static_cast<double>(count) / period_s;
  // Unless set, the burst follows the count: "N per hour" lets N through at once.
  out.burst = t.at_path(name + "_burst") ? static_cast<double>(burst)
              : had_count                ? std::max<double>(1, static_cast<double>(count))
                                         : out.burst;
  return Ok{};
}

Status read_string(const toml::table& t, std::string_view path, std::string& out) {
  auto node = t.at_path(path);
  if (!node) return Ok{};
  auto v = node.value<std::string>();
  if (!v) return bad(std::string(path) + " must be a string");
  out = *v;
  return Ok{};
}

Status read_rates(const toml::table& t, api::RateLimits& r) {
  for (Status s :
       {read_rate(t, "rate_limits.registrations_per_ip_per_hour", 3600, r.registrations_per_ip),
        read_rate(t, "rate_limits.auth_attempts_per_ip_per_minute", 60, r.auth_attempts_per_ip),
        read_rate(t, "rate_limits.messages_per_account_per_second", 1, r.messages_per_account),
        read_rate(t, "rate_limits.messages_per_ip_per_second", 1, r.messages_per_ip),
        read_rate(t, "rate_limits.key_package_fetches_per_account_per_minute", 60,
                  r.key_package_fetches_per_account),
        read_rate(t, "rate_limits.contact_link_changes_per_account_per_hour", 3600,
                  r.contact_link_changes_per_account),
        read_rate(t, "rate_limits.conversations_per_account_per_hour", 3600,
                  r.conversations_per_account),
        read_rate(t, "rate_limits.push_subscriptions_per_account_per_hour", 3600,
                  r.push_subscriptions_per_account)}) {
    if (!s) return s;
  }
  return Ok{};
}

// What one address, a silent connection or an unfinished message may hold.
Status read_connection_limits(const toml::table& t, ServerConfig& c) {
  for (Status s : {read_int(t, "limits.max_connections_per_address", c.max_connections_per_address,
                            1, 1'000'000),
                   read_int(t, "limits.auth_timeout_s", c.auth_timeout_s, 1, 3600),
                   read_int(t, "limits.frame_timeout_s", c.frame_timeout_s, 1, 3600),
                   read_int(t, "limits.partial_frames_bytes", c.partial_frames_bytes, 64 << 10,
                            int64_t{1} << 34)}) {
    if (!s) return s;
  }
  return Ok{};
}

Status read_bool(const toml::table& t, std::string_view path, bool& out) {
  auto node = t.at_path(path);
  if (!node) return Ok{};
  auto v = node.value<bool>();
  if (!v) return bad(std::string(path) + " must be true or false");
  out = *v;
  return Ok{};
}

Status read_addresses(const toml::table& t, std::string_view path, std::vector<std::string>& out) {
  auto node = t.at_path(path);
  if (!node) return Ok{};
  const auto* list = node.as_array();
  const std::string error = std::string(path) + " must be a list of IP addresses";
  if (!list) return bad(error);
  out.clear();
  for (const auto& item : *list) {
    auto v = item.value<std::string>();
    if (!v) return bad(error);
    out.push_back(*v);
  }
  return Ok{};
}

Status read_strings(const toml::table& t, ServerConfig& c, std::string& listen,
                    std::string& registration) {
  for (Status s :
       {read_string(t, "server.listen", listen), read_string(t, "server.data", c.data_dir),
        read_string(t, "server.web", c.web_dir),
        read_string(t, "server.admin_socket", c.admin_socket),
        read_string(t, "tls.certificate", c.tls_certificate), read_string(t, "tls.key", c.tls_key),
        read_string(t, "server.instance_name", c.domain.instance_name),
        read_string(t, "server.registration", registration),
        read_string(t, "log.level", c.log_level)}) {
    if (!s) return s;
  }
  return Ok{};
}

// The numbers of [limits] and [storage]; durations given in hours or seconds are kept in ms.
Status read_limits(const toml::table& t, ServerConfig& c) {
  int64_t ttl_hours = c.domain.registration_code_ttl_ms / 3'600'000;
  int64_t device_request_ttl_s = c.domain.device_request_ttl_ms / 1000;
  for (Status s :
       {read_int(t, "limits.max_frame_bytes", c.api.max_frame_bytes, 1024, 16 << 20),
        read_int(t, "limits.max_payload_bytes", c.domain.max_payload_bytes, 256, 16 << 20),
        read_int(t, "limits.handshake_timeout_s", c.handshake_timeout_s, 1, 600),
        read_int(t, "limits.idle_timeout_s", c.idle_timeout_s, 5, 3600),
        read_int(t, "limits.send_queue_bytes", c.send_queue_bytes, 64 << 10, 1 << 30),
        read_int(t, "limits.max_connections", c.max_connections, 1, 1'000'000),
        read_int(t, "limits.write_stall_s", c.write_stall_s, 1, 3600),
        read_int(t, "limits.max_key_packages", c.domain.max_key_packages, 1, 10'000),
        read_int(t, "limits.max_devices_per_account", c.domain.max_devices_per_account, 1, 100),
        read_int(t, "limits.max_conversation_devices", c.domain.max_conversation_devices, 2,
                 100'000),
        read_int(t, "limits.registration_code_ttl_hours", ttl_hours, 1, 24 * 365),
        read_int(t, "storage.cursor_flush_ms", c.cursor_flush_ms, 10, 60'000),
        read_int(t, "limits.max_contact_links_per_account", c.domain.max_contact_links, 0, 1000),
        read_int(t, "limits.contact_link_registrations_per_hour",
                 c.domain.contact_link_registrations_per_hour, 0, 100'000),
        read_int(t, "limits.device_request_ttl_s", device_request_ttl_s, 1, 3600)}) {
    if (!s) return s;
  }
  c.domain.registration_code_ttl_ms = ttl_hours * 3'600'000;
  c.domain.device_request_ttl_ms = device_request_ttl_s * 1000;
  return Ok{};
}

// [association]: sent to every connection before authentication, so it is kept small.
constexpr size_t kMaxAssociationContacts = 8;
constexpr size_t kMaxAssociationBytes = 2048;

bool is_https(std::string_view url) {
  return url.size() > 8 && url.substr(0, 8) == "https://" &&
         url.find_first_of(" \t\r\n\"<>") == std::string_view::npos;
}

// A number a client turns into tel: or sms: — digits, spaces and a leading +, nothing else.
bool is_phone(std::string_view v) {
  if (v.empty()) return true;
  bool digit = false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] >= '0' && v[i] <= '9') {
      digit = true;
    } else if (v[i] != ' ' && !(v[i] == '+' && i == 0)) {
      return false;
    }
  }
  return digit;
}

Status read_contact(const toml::table& t, size_t index, domain::AssociationContact& out) {
  const std::string at = "association.contacts[" + std::to_string(index) + "]";
  for (auto [key, field] :
       {std::pair{"name", &out.name}, std::pair{"details", &out.details},
        std::pair{"phone", &out.phone}, std::pair{"sms", &out.sms}, std::pair{"url", &out.url}}) {
    if (auto s = read_string(t, key, *field); !s) return bad(at + "." + s.error().message);
  }
  if (out.name.empty()) return bad(at + ".name is required");
  if (out.phone.empty() && out.sms.empty() && out.url.empty()) {
    return bad(at + " needs a phone, an sms or a url");
  }
  if (!is_phone(out.phone) || !is_phone(out.sms)) {
    return bad(at + ": phone and sms are digits and spaces, with an optional leading +");
  }
  if (!out.url.empty() && !is_https(out.url)) return bad(at + ".url must be an https:// address");
  return Ok{};
}

Status read_contacts(const toml::table& t, domain::Association& a) {
  auto node = t.at_path("association.contacts");
  if (!node) return Ok{};
  const auto* list = node.as_array();
  if (!list || !list->is_array_of_tables()) {
    return bad("association.contacts must be [[association.contacts]] tables");
  }
  if (list->size() > kMaxAssociationContacts) {
    return bad("association.contacts: at most " + std::to_string(kMaxAssociationContacts));
  }
  a.contacts.assign(list->size(), {});
  for (size_t i = 0; i < list->size(); ++i) {
    if (auto s = read_contact(*list->get(i)->as_table(), i, a.contacts[i]); !s) return s;
  }
  return Ok{};
}

size_t association_bytes(const domain::Association& a) {
  size_t n = a.name.size() + a.page.size() + a.answer_times.size();
  for (const auto& c : a.contacts) {
    n += c.name.size() + c.details.size() + c.phone.size() + c.sms.size() + c.url.size();
  }
  return n;
}

Status read_association(const toml::table& t, domain::Association& a) {
  if (!t.at_path("association")) return Ok{};
  if (!t.at_path("association").as_table()) return bad("association must be a table");
  domain::Association read;
  for (Status s :
       {read_string(t, "association.name", read.name),
        read_string(t, "association.page", read.page),
        read_string(t, "association.answer_times", read.answer_times), read_contacts(t, read)}) {
    if (!s) return s;
  }
  if (read.name.empty()) return bad("association.name is required in [association]");
  if (!read.page.empty() && !is_https(read.page)) {
    return bad("association.page must be an https:// address");
  }
  if (association_bytes(read) > kMaxAssociationBytes) {
    return bad("[association] is over " + std::to_string(kMaxAssociationBytes) +
               " bytes in all: every connection receives it");
  }
  a = std::move(read);
  return Ok{};
}

Status read_push(const toml::table& t, PushConfig& p) {
  for (Status s :
       {read_bool(t, "push.enabled", p.enabled), read_string(t, "push.subject", p.subject),
        read_bool(t, "push.allow_insecure_endpoints_for_tests",
                  p.allow_insecure_endpoints_for_tests)}) {
    if (!s) return s;
  }
  if (!p.subject.empty() && !push::valid_subject(p.subject)) {
    return bad(
        "push.subject must be a mailto: or https: address, e.g. \"mailto:admin@example.org\"");
  }
  return Ok{};
}

// Limits that only make sense together.
Status check_consistent(const ServerConfig& c) {
  if (c.domain.max_payload_bytes + 1024 > c.api.max_frame_bytes) {
    return bad("limits.max_payload_bytes must be at least 1024 bytes under limits.max_frame_bytes");
  }
  if (c.tls_certificate.empty() != c.tls_key.empty()) {
    return bad("tls.certificate and tls.key go together");
  }
  if (c.send_queue_bytes < 2 * size_t{c.api.max_frame_bytes}) {
    return bad("limits.send_queue_bytes must be at least twice limits.max_frame_bytes");
  }
  if (c.partial_frames_bytes < c.api.max_frame_bytes) {
    return bad("limits.partial_frames_bytes must be at least limits.max_frame_bytes");
  }
  return Ok{};
}

Status read_all(const toml::table& t, ServerConfig& c) {
  std::string listen, registration;
  for (Status s :
       {read_strings(t, c, listen, registration), read_limits(t, c), read_rates(t, c.rates),
        read_connection_limits(t, c), read_bool(t, "server.metrics_public", c.metrics_public),
        read_addresses(t, "server.trusted_proxies", c.trusted_proxies),
        read_bool(t, "server.contact_link_registration", c.domain.contact_link_registration),
        read_bool(t, "storage.sync", c.sync), read_association(t, c.domain.association),
        read_push(t, c.push)}) {
    if (!s) return s;
  }
  if (!listen.empty()) {
    if (auto s = parse_listen(listen, c); !s) return s;
  }
  if (!registration.empty()) {
    if (auto s = parse_registration(registration, c.domain.registration); !s) return s;
  }
  if (auto s = check_consistent(c); !s) return s;
  c.api.idle_timeout_s = c.idle_timeout_s;
  return Ok{};
}

}  // namespace

Status parse_listen(const std::string& text, ServerConfig& config) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("--listen expects HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port > 65535) return bad("the port must be 0 to 65535");
  config.listen_host = host;
  config.listen_port = static_cast<uint16_t>(port);
  return Ok{};
}

Status load_config_file(const std::string& path, ServerConfig& config) {
  auto parsed = toml::parse_file(path);
  if (!parsed) {
    const auto& e = parsed.error();
    return bad(path + ":" + std::to_string(e.source().begin.line) + ": " +
               std::string(e.description()));
  }
  if (auto s = read_all(parsed.table(), config); !s) {
    return bad(path + ": " + s.error().message);
  }
  return Ok{};
}

Status apply_flags(const std::vector<std::string>& args, ServerConfig& config) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) return bad(flag + " needs a value\n" + kUsage);
    const std::string& value = args[++i];
    Status s = Ok{};
    if (flag == "--listen") {
      s = parse_listen(value, config);
    } else if (flag == "--data") {
      config.data_dir = value;
    } else if (flag == "--web") {
      config.web_dir = value;
    } else if (flag == "--registration") {
      s = parse_registration(value, config.domain.registration);
    } else if (flag == "--sync") {
      s = parse_bool(value, config.sync);
    } else if (flag == "--log-level") {
      config.log_level = value;
    } else if (flag == "--tls-certificate") {
      config.tls_certificate = value;
    } else if (flag == "--tls-key") {
      config.tls_key = value;
    } else if (flag == "--test-clock") {
      s = parse_bool(value, config.test_clock);
    } else if (flag == "--config") {
      continue;  // Read first, by the caller.
    } else {
      return bad("unknown option " + flag + "\n" + kUsage);
    }
    if (!s) return s;
  }
  return Ok{};
}

}  // namespace cercle::net

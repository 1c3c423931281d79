#include "server/api/admin.h"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

namespace cercle::api {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool flag(const json::object& o, std::string_view key, bool fallback) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

int64_t integer(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

json::object ok() { return json::object{{"ok", true}}; }

// Turns a domain result into an answer: `fill` adds the result's fields to {"ok": true}.
template <class T, class Fill>
auto answer(Admin::Done done, Fill fill) {
  return [done = std::move(done), fill = std::move(fill)](Result<T> r) {
    if (!r) return done(admin_error(r.error().message));
    json::object out = ok();
    fill(r.value(), out);
    done(std::move(out));
  };
}

const char* type_name(domain::AccountType t) {
  return t == domain::AccountType::kProfessional ? "professional" : "peer";
}

}  // namespace

json::object admin_error(std::string_view message) {
  return json::object{{"ok", false}, {"error", message}};
}

void Admin::run(const json::object& request, Done done) {
  const std::string command = text(request, "command");
  auto& identity = domain_.identity();
  if (command == "code-create") {
    const int64_t hours = integer(request, "ttl_hours");
    if (hours < 0) return done(admin_error("ttl_hours must not be negative"));
    return identity.create_registration_code(
        0, hours * 3'600'000,
        answer<domain::RegistrationCode>(std::move(done), [](const auto& code, json::object& out) {
          out["code"] = code.code;
          out["expires_ms"] = code.expires_ms;
        }));
  }
  if (command == "code-revoke") {
    return identity.revoke_registration_code(
        text(request, "code"), answer<Ok>(std::move(done), [](const Ok&, json::object&) {}));
  }
  if (command == "stats") {
    const auto s = domain_.stats();
    json::object out = ok();
    out["accounts"] = s.accounts;
    out["professionals"] = s.professionals;
    out["suspended"] = s.suspended;
    out["devices"] = s.devices;
    out["direct_conversations"] = s.direct_conversations;
    out["group_conversations"] = s.group_conversations;
    out["log_entries"] = s.log_entries;
    out["key_packages"] = s.key_packages;
    out["contact_links"] = s.contact_links;
    out["registration_codes_unused"] = s.registration_codes_unused;
    return done(std::move(out));
  }
  if (command.rfind("account-", 0) == 0) return account_command(command, request, std::move(done));
  group_command(command, request, std::move(done));
}

void Admin::group_command(const std::string& command, const json::object& request, Done done) {
  auto& groups = domain_.groups();
  if (command == "report-list") {
    json::array reports;
    for (const auto& r : groups.admin_reports()) {
      reports.push_back(json::object{{"id", r.id},
                                     {"reporter", r.reporter},
                                     {"conversation", r.conv.hex()},
                                     {"seq", r.seq},
                                     {"text", r.revealed_text},
                                     {"reason", r.reason},
                                     {"created_ms", r.created_ms},
                                     {"answer", r.answer}});
    }
    json::object out = ok();
    out["reports"] = std::move(reports);
    return done(std::move(out));
  }
  if (command == "report-answer") {
    return groups.answer_report(static_cast<uint64_t>(integer(request, "id")),
                                text(request, "text"),
                                answer<Ok>(std::move(done), [](const Ok&, json::object&) {}));
  }
  if (command == "retention-run" || command == "clock-advance") {
    json::object out = ok();
    if (command == "clock-advance") {
      if (!test_clock_)
        return done(admin_error("the clock moves only on a test instance (--test-clock true)"));
      const int64_t hours = integer(request, "hours");
      if (hours <= 0) return done(admin_error("hours must be positive"));
      test_clock_->advance_ms(hours * 3'600'000);
      out["now_ms"] = test_clock_->now_ms();
    }
    out["groups"] = groups.erase_expired();
    out["contact_links_forgotten"] = domain_.contact_links().forget_ended();
    out["accounts_purged"] = domain_.purge_deleted_accounts();
    return done(std::move(out));
  }
  done(admin_error("unknown command: " + command));
}

void Admin::account_command(const std::string& command, const json::object& request, Done done) {
  auto& identity = domain_.identity();
  const std::string handle = text(request, "handle");
  if (command == "account-list") {
    json::array accounts;
    for (const auto& a : identity.list_accounts()) {
      accounts.push_back(json::object{{"handle", a.handle},
                                      {"type", type_name(a.type)},
                                      {"admin", a.admin},
                                      {"suspended", a.suspended},
                                      {"devices", a.devices},
                                      {"created_ms", a.created_ms}});
    }
    json::object out = ok();
    out["accounts"] = std::move(accounts);
    return done(std::move(out));
  }
  if (command == "account-set-type") {
    const std::string type = text(request, "type");
    if (type != "peer" && type != "professional") {
      return done(admin_error("type must be peer or professional"));
    }
    return identity.set_account_type(
        0, handle, type == "peer" ? domain::AccountType::kPeer : domain::AccountType::kProfessional,
        answer<Ok>(std::move(done), [](const Ok&, json::object&) {}));
  }
  if (command == "account-set-admin") {
    return identity.set_admin(handle, flag(request, "admin", true),
                              answer<Ok>(std::move(done), [](const Ok&, json::object&) {}));
  }
  if (command == "account-suspend") {
    return identity.set_suspended(
        handle, flag(request, "suspended", true),
        [this, done = std::move(done),
         suspend = flag(request, "suspended", true)](Result<std::vector<DeviceId>> r) {
          if (!r) return done(admin_error(r.error().message));
          if (suspend && on_suspended_) on_suspended_(*r);
          done(ok());
        });
  }
  if (command == "account-delete") {
    return domain_.delete_account(0, handle,
                                  [this, done = std::move(done)](Result<std::vector<DeviceId>> r) {
                                    if (!r) return done(admin_error(r.error().message));
                                    if (on_suspended_)
                                      on_suspended_(*r);  // Closes its devices' connections.
                                    done(ok());
                                  });
  }
  done(admin_error("unknown command: " + command));
}

}  // namespace cercle::api

// Admin: the instance admin's commands, as one JSON object in and one out, for cercle-admin
// (through the server's local admin socket, or on a stopped server's data folder). Commands:
//   code-create {ttl_hours}            -> {code, expires_ms}
//   code-revoke {code}
//   account-list                       -> {accounts: [{handle, type, admin, suspended, devices,
//   created_ms}]} account-set-type {handle, type: "peer"|"professional"} account-set-admin {handle,
//   admin: bool} account-suspend {handle, suspended: bool} stats                              ->
//   counts only report-list                        -> {reports: [{id, reporter, conversation, seq,
//   text, reason,
//                                          created_ms, answer}]}: reports members chose to reveal
//   report-answer {id, text}           the reporter's devices get the answer
//   retention-run                      -> {groups, contact_links_forgotten}: erase what is past
//   each
//                                         group's retention, forget ended contact links past the
//                                         newest few of each account
//   clock-advance {hours}              -> {now_ms, groups}: test instances only (--test-clock)
// Answers are {"ok": true, ...} or {"ok": false, "error": "..."}. Backups are not here: they run
// off the io thread (see server/net/admin_socket.h). Lives on the domain's thread; not thread-safe.
#pragma once

#include <functional>
#include <vector>

#include <boost/json/object.hpp>

#include "server/domain/domain.h"

namespace cercle::api {

class Admin {
 public:
  using Done = std::function<void(boost::json::object)>;

  // `on_suspended` gets the devices of an account just suspended, to close their connections.
  // `test_clock`: the clock `clock-advance` moves (a test instance), or null.
  Admin(domain::Domain& domain, std::function<void(const std::vector<DeviceId>&)> on_suspended,
        AdjustableClock* test_clock = nullptr)
      : domain_(domain), on_suspended_(std::move(on_suspended)), test_clock_(test_clock) {}

  void run(const boost::json::object& request, Done done);

 private:
  void account_command(const std::string& command, const boost::json::object& request, Done done);
  void group_command(const std::string& command, const boost::json::object& request, Done done);

  domain::Domain& domain_;
  std::function<void(const std::vector<DeviceId>&)> on_suspended_;
  AdjustableClock* test_clock_;
};

// Builds {"ok": false, "error": message}.
boost::json::object admin_error(std::string_view message);

}  // namespace cercle::api

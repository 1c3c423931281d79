#include "server/tools/admin_commands.h"

#include <functional>
#include <memory>
#include <string>

namespace cercle::admin_tool {

namespace {

namespace json = boost::json;
using Request = std::optional<json::object>;

// The words of one command.
struct Words {
  std::string code, handle, value, dir, target, text;
  long long number = 0;
  bool number_given = false;
};
using Build = std::function<json::object(const Words&)>;

// A command: once parsed, `build` turns its words into the request.
std::pair<CLI::App*, std::shared_ptr<Words>> leaf(CLI::App& parent, Request& out,
                                                  const std::string& name,
                                                  const std::string& description, Build build) {
  auto w = std::make_shared<Words>();
  auto* cmd = parent.add_subcommand(name, description);
  cmd->callback([&out, w, build = std::move(build)] { out = build(*w); });
  return {cmd, w};
}

CLI::App* group(CLI::App& app, const std::string& name, const std::string& description) {
  auto* cmd = app.add_subcommand(name, description);
  cmd->require_subcommand(1);
  return cmd;
}

void add_handle(CLI::App* cmd, std::string& out) {
  cmd->add_option("HANDLE", out, "an account's handle, as `cercle-admin account list` shows it")
      ->required();
}

void add_code(CLI::App& app, Request& out) {
  auto* code = group(app, "code", "registration codes (single use)");
  auto [create, c] =
      leaf(*code, out, "create", "make a registration code (printed alone)", [](const Words& w) {
        return json::object{{"command", "code-create"}, {"ttl_hours", w.number}};
      });
  create->add_option("--ttl-hours", c->number, "the code expires after N hours (0: never)")
      ->type_name("N");
  auto [revoke, r] = leaf(*code, out, "revoke", "make an unused code unusable", [](const Words& w) {
    return json::object{{"command", "code-revoke"}, {"code", w.code}};
  });
  revoke->add_option("CODE", r->code, "the code, as `cercle-admin code create` printed it")
      ->required();
}

void add_account(CLI::App& app, Request& out) {
  auto* account = group(app, "account", "accounts: list, type, admin flag, suspension, deletion");
  leaf(*account, out, "list", "every account: handle, type, flags", [](const Words&) {
    return json::object{{"command", "account-list"}};
  });
  auto [type, t] =
      leaf(*account, out, "set-type", "make an account a peer's or a professional's",
           [](const Words& w) {
             return json::object{
                 {"command", "account-set-type"}, {"handle", w.handle}, {"type", w.value}};
           });
  add_handle(type, t->handle);
  type->add_option("TYPE", t->value, "peer or professional")
      ->required()
      ->check(CLI::IsMember({"peer", "professional"}));
  auto [admin, a] =
      leaf(*account, out, "set-admin", "give or take back the admin flag", [](const Words& w) {
        return json::object{
            {"command", "account-set-admin"}, {"handle", w.handle}, {"admin", w.value == "on"}};
      });
  add_handle(admin, a->handle);
  admin->add_option("ON_OFF", a->value, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  for (const bool suspend : {true, false}) {
    auto [cmd, s] =
        leaf(*account, out, suspend ? "suspend" : "unsuspend",
             suspend ? "disconnect an account and refuse it until unsuspended"
                     : "let a suspended account back in",
             [suspend](const Words& w) {
               return json::object{
                   {"command", "account-suspend"}, {"handle", w.handle}, {"suspended", suspend}};
             });
    add_handle(cmd, s->handle);
  }
  auto [del, d] = leaf(*account, out, "delete",
                       "delete an account for good: it cannot sign in or be found, its handle is "
                       "never given again, its last records go once it left every conversation",
                       [](const Words& w) {
                         return json::object{{"command", "account-delete"}, {"handle", w.handle}};
                       });
  add_handle(del, d->handle);
}

void add_reports(CLI::App& app, Request& out) {
  leaf(app, out, "stats", "counts only: nothing about who or what", [](const Words&) {
    return json::object{{"command", "stats"}};
  });
  auto* report = group(app, "report", "reports members chose to reveal to the admins");
  leaf(*report, out, "list", "the reports, with the message and the reason", [](const Words&) {
    return json::object{{"command", "report-list"}};
  });
  auto [answer, a] =
      leaf(*report, out, "answer", "answer a report (the reporter's devices get it)",
           [](const Words& w) {
             return json::object{{"command", "report-answer"}, {"id", w.number}, {"text", w.text}};
           });
  answer->add_option("ID", a->number, "a report's number, as `cercle-admin report list` shows it")
      ->required();
  answer->add_option("TEXT", a->text, "the answer, between quotes if it has spaces")->required();
  auto* retention = group(app, "retention", "each group's message retention");
  leaf(*retention, out, "run", "erase now what is past each group's retention", [](const Words&) {
    return json::object{{"command", "retention-run"}};
  });
  auto* clock = group(app, "clock", "the test clock (cercle-server --test-clock true only)");
  auto [advance, c] =
      leaf(*clock, out, "advance", "move the test clock forward", [](const Words& w) {
        return json::object{{"command", "clock-advance"}, {"hours", w.number}};
      });
  advance->add_option("HOURS", c->number, "how many hours")->required();
}

void add_backup(CLI::App& app, Request& out) {
  auto* backup = group(app, "backup", "back up, verify and restore the data");
  auto [create, c] =
      leaf(*backup, out, "create", "back up the data into DIR (online: the server keeps serving)",
           [](const Words& w) {
             json::object o{{"command", "backup-create"}, {"dir", w.dir}};
             if (w.number_given) o["keep"] = w.number;
             return o;
           });
  create->add_option("DIR", c->dir, "the backups' folder")->required();
  create->add_option("--keep", c->number, "keep only the newest N backups in DIR")
      ->type_name("N")
      ->each([c = c](const std::string&) { c->number_given = true; });
  auto [verify, v] =
      leaf(*backup, out, "verify", "check the latest backup in DIR", [](const Words& w) {
        return json::object{{"command", "backup-verify"}, {"dir", w.dir}};
      });
  verify->add_option("DIR", v->dir, "the backups' folder")->required();
  auto [restore, r] = leaf(
      *backup, out, "restore", "restore the latest backup in DIR into the empty folder TARGET",
      [](const Words& w) {
        return json::object{{"command", "backup-restore"}, {"dir", w.dir}, {"target", w.target}};
      });
  restore->add_option("DIR", r->dir, "the backups' folder")->required();
  restore->add_option("TARGET", r->target, "an empty folder, the new data folder")->required();
}

}  // namespace

void add_commands(CLI::App& app, std::optional<json::object>& request) {
  add_code(app, request);
  add_account(app, request);
  add_reports(app, request);
  add_backup(app, request);
}

}  // namespace cercle::admin_tool

// `cercle group ...`: a group's members, rules and moderation (invitations are in
// invitation_commands.cpp, members' devices in verify_commands.cpp).
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

using client::Client;
using client::Role;

namespace json = boost::json;

// The words of a group command: which group, whom, which message.
struct Words {
  std::string conv, handle, role, reason;
  uint64_t seq = 0;
  bool to_admins = false;
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "personne" : out;
}

// The group's rules, and its name and description when this device knows them.
void print_rules(const client::GroupRules& r, const client::GroupProfile& p, bool as_json) {
  if (as_json) {
    json::array facilitators, banned, muted;
    for (const auto& h : r.facilitators) facilitators.push_back(json::string(h));
    for (const auto& h : r.banned) banned.push_back(json::string(h));
    for (const auto& h : r.muted) muted.push_back(json::string(h));
    std::cout << json::serialize(json::object{{"name", p.name},
                                              {"description", p.description},
                                              {"open_to_peers", r.open_to_peers},
                                              {"relatives_admitted", r.relatives_admitted},
                                              {"retention_days", r.retention_days},
                                              {"charter", r.charter},
                                              {"objection_hours", r.objection_hours},
                                              {"facilitators", facilitators},
                                              {"banned", banned},
                                              {"muted", muted}})
              << std::endl;
    return;
  }
  if (!p.name.empty()) std::cout << "nom : " << p.name << "\n";
  if (!p.description.empty()) std::cout << "description : " << p.description << "\n";
  std::cout << "entrée : " << (r.open_to_peers ? "ouverte aux pairs" : "sur invitation") << "\n"
            << "proches : " << (r.relatives_admitted ? "admis" : "non admis") << "\n"
            << "conservation : "
            << (r.retention_days ? std::to_string(r.retention_days) + " jours" : "sans limite")
            << "\n"
            << "délai d'opposition : " << r.objection_hours << " h\n"
            << "animation : " << joined(r.facilitators) << "\n"
            << "exclus : " << joined(r.banned) << "\n"
            << "en sourdine : " << joined(r.muted) << "\n"
            << "charte : " << (r.charter.empty() ? "(aucune)" : r.charter) << std::endl;
}

// `group policy CONV [--open yes|no] ...`: shows the rules, or changes those given.
void add_policy(CLI::App& group, Context& ctx) {
  struct Policy {
    std::string conv, open, relatives, charter;
    uint32_t retention = 0, objection_hours = 0;
  };
  auto p = std::make_shared<Policy>();
  auto* cmd = group.add_subcommand("policy", "show the group's rules, or change those given");
  add_conv(cmd, p->conv);
  const auto yes_no = CLI::IsMember({"yes", "no", "oui", "non"});
  auto* open = cmd->add_option("--open", p->open, "open to peers, who may ask to join")
                   ->type_name("yes|no")
                   ->check(yes_no);
  auto* relatives = cmd->add_option("--relatives", p->relatives, "relatives may be invited")
                        ->type_name("yes|no")
                        ->check(yes_no);
  auto* retention =
      cmd->add_option("--retention", p->retention, "erase messages after DAYS (0: keep them)")
          ->type_name("DAYS");
  auto* charter = cmd->add_option("--charter", p->charter, "the charter invitees accept");
  auto* hours = cmd->add_option("--objection-hours", p->objection_hours,
                                "how long members may object to a professional's invitation")
                    ->type_name("N");
  on_run(cmd, ctx, Account::kNeeded, [=, &ctx](Client& c) {
    auto rules = c.rules(p->conv);
    if (!rules) return fail(rules.error());
    if (open->count() + relatives->count() + retention->count() + charter->count() +
            hours->count() ==
        0) {
      const auto profile = c.group_profile(p->conv);
      print_rules(*rules, profile ? *profile : client::GroupProfile{}, ctx.json);
      return 0;
    }
    const auto yes = [](const std::string& v) { return v == "yes" || v == "oui"; };
    if (open->count()) rules->open_to_peers = yes(p->open);
    if (relatives->count()) rules->relatives_admitted = yes(p->relatives);
    if (retention->count()) rules->retention_days = p->retention;
    if (charter->count()) rules->charter = p->charter;
    if (hours->count()) rules->objection_hours = p->objection_hours;
    return done(c.set_rules(p->conv, *rules));
  });
}

int report(Client& c, const Words& w, bool as_json) {
  if (!w.to_admins) return done(c.report(w.conv, w.seq, w.reason));
  auto id = c.report_to_admins(w.conv, w.seq, w.reason);
  if (!id) return fail(id.error());
  if (as_json) {
    std::cout << json::serialize(json::object{{"report", *id}}) << std::endl;
  } else {
    std::cout << *id << std::endl;
  }
  return 0;
}

int open_groups(Client& c, bool as_json) {
  auto groups = c.open_groups();
  if (!groups) return fail(groups.error());
  for (const auto& g : *groups) {
    if (as_json) {
      std::cout << json::serialize(json::object{{"conversation", g.conversation},
                                                {"charter", g.charter},
                                                {"members", g.members},
                                                {"public_name", g.public_name},
                                                {"public_description", g.public_description}})
                << std::endl;
    } else {
      std::cout << g.conversation
                << (g.public_name.empty() ? ""
                                          : " « " + g.public_name + " » : " + g.public_description)
                << " " << g.members << " membres, charte : " << g.charter << std::endl;
    }
  }
  return 0;
}

using Action = std::function<int(Client&, const Words&)>;

// A group command over CONV and HANDLE (ban, mute, add...).
void add_on_member(CLI::App& group, Context& ctx, const std::string& name,
                   const std::string& description, Action fn) {
  auto w = std::make_shared<Words>();
  auto* cmd = group.add_subcommand(name, description);
  add_conv(cmd, w->conv);
  add_handle(cmd, w->handle);
  on_run(cmd, ctx, Account::kNeeded, [w, fn](Client& c) { return fn(c, *w); });
}

// A group command over CONV only (leave, join...).
void add_on_group(CLI::App& group, Context& ctx, const std::string& name,
                  const std::string& description, Action fn) {
  auto w = std::make_shared<Words>();
  auto* cmd = group.add_subcommand(name, description);
  add_conv(cmd, w->conv);
  on_run(cmd, ctx, Account::kNeeded, [w, fn](Client& c) { return fn(c, *w); });
}

// The words of `group create [--name NAME [--description TEXT]]` and `group rename GROUP --name
// NAME ...`: the name and description only the group's members read (sent encrypted, signed by a
// facilitator).
struct Naming {
  std::string conv, name, description;
};

void add_create(CLI::App& group, Context& ctx) {
  auto n = std::make_shared<Naming>();
  auto* create = group.add_subcommand("create", "create a group; prints its id");
  auto* name =
      create->add_option("--name", n->name, "the group's name (80 bytes at most), for its members");
  create
      ->add_option("--description", n->description,
                   "what the group is about (1000 bytes at most), for its members")
      ->type_name("TEXT")
      ->needs(name);
  on_run(create, ctx, Account::kNeeded, [n, &ctx](Client& c) {
    auto id = c.create_group(n->name, n->description);
    if (!id) return fail(id.error());
    print_id(*id, ctx.json);
    return 0;
  });
}

void add_rename(CLI::App& group, Context& ctx) {
  auto r = std::make_shared<Naming>();
  auto* rename = group.add_subcommand("rename", "change the group's name and description");
  add_conv(rename, r->conv);
  rename->add_option("--name", r->name, "the group's new name (80 bytes at most)")->required();
  rename->add_option("--description", r->description, "its description (1000 bytes at most)")
      ->type_name("TEXT");
  on_run(rename, ctx, Account::kNeeded,
         [r](Client& c) { return done(c.set_group_profile(r->conv, r->name, r->description)); });
}

// `group publish GROUP --name NAME [--description TEXT]` or `--withdraw`: the public listing of an
// open group, which the hosting association and every peer of the instance read.
void add_publish(CLI::App& group, Context& ctx) {
  struct Publish {
    std::string conv, name, description;
    bool withdraw = false;
  };
  auto p = std::make_shared<Publish>();
  auto* cmd = group.add_subcommand(
      "publish",
      "list an open group on the instance: its public name and description are read by the "
      "association hosting the server and by every peer");
  add_conv(cmd, p->conv);
  auto* name = cmd->add_option("--name", p->name, "the public name (80 bytes at most)");
  cmd->add_option("--description", p->description, "the public description (1000 bytes at most)")
      ->type_name("TEXT")
      ->needs(name);
  cmd->add_flag("--withdraw", p->withdraw, "take the listing back")->excludes(name);
  on_run(cmd, ctx, Account::kNeeded, [p](Client& c) {
    if (p->withdraw) return done(c.withdraw_listing(p->conv));
    if (p->name.empty()) {
      return fail(client::make_error(client::Errc::kInvalidArgument,
                                     "give the public name (--name NAME), or --withdraw"));
    }
    return done(c.publish_group(p->conv, p->name, p->description));
  });
}

void add_membership(CLI::App& group, Context& ctx) {
  add_create(group, ctx);
  add_on_member(group, ctx, "add", "add someone to a group",
                [](Client& c, const Words& w) { return done(c.add_member(w.conv, w.handle)); });
  add_on_member(group, ctx, "remove", "remove someone from a group",
                [](Client& c, const Words& w) { return done(c.remove_member(w.conv, w.handle)); });
  add_on_group(group, ctx, "leave", "leave a group",
               [](Client& c, const Words& w) { return done(c.leave(w.conv)); });
  auto* open = group.add_subcommand("open", "list the groups open to peers");
  on_run(open, ctx, Account::kNeeded, [&ctx](Client& c) { return open_groups(c, ctx.json); });
  add_on_group(group, ctx, "join", "ask to join a group open to peers",
               [](Client& c, const Words& w) { return done(c.request_join(w.conv)); });
  add_rename(group, ctx);
  add_publish(group, ctx);
}

void add_role(CLI::App& group, Context& ctx) {
  auto w = std::make_shared<Words>();
  auto* cmd = group.add_subcommand("role", "give or take back the facilitator role");
  add_conv(cmd, w->conv);
  add_handle(cmd, w->handle);
  cmd->add_option("ROLE", w->role, "facilitator or member")
      ->required()
      ->check(CLI::IsMember({"facilitator", "member"}));
  on_run(cmd, ctx, Account::kNeeded, [w](Client& c) {
    const Role role = w->role == "facilitator" ? Role::kFacilitator : Role::kMember;
    return done(c.set_role(w->conv, w->handle, role));
  });
}

// A group command over CONV and SEQ, a message's number (delete, report).
CLI::App* add_on_message(CLI::App& group, const std::string& name, const std::string& description,
                         Words& w) {
  auto* cmd = group.add_subcommand(name, description);
  add_conv(cmd, w.conv);
  cmd->add_option("SEQ", w.seq, "a message's number, as `cercle history` shows it after #")
      ->required();
  return cmd;
}

void add_moderation(CLI::App& group, Context& ctx) {
  add_role(group, ctx);
  add_on_member(group, ctx, "ban", "remove someone and ban them from the group",
                [](Client& c, const Words& w) { return done(c.ban(w.conv, w.handle)); });
  add_on_member(group, ctx, "unban", "lift a ban",
                [](Client& c, const Words& w) { return done(c.unban(w.conv, w.handle)); });
  add_on_member(group, ctx, "mute", "refuse someone's messages in the group",
                [](Client& c, const Words& w) { return done(c.mute(w.conv, w.handle, true)); });
  add_on_member(group, ctx, "unmute", "allow someone's messages again",
                [](Client& c, const Words& w) { return done(c.mute(w.conv, w.handle, false)); });
  auto del = std::make_shared<Words>();
  auto* cmd = add_on_message(group, "delete", "delete a message for everyone", *del);
  on_run(cmd, ctx, Account::kNeeded,
         [del](Client& c) { return done(c.delete_message(del->conv, del->seq)); });
  auto w = std::make_shared<Words>();
  cmd = add_on_message(group, "report", "report a message to the group's facilitators", *w);
  cmd->add_option("REASON", w->reason, "why, between quotes if it has spaces")->required();
  cmd->add_flag("--to-admins", w->to_admins,
                "reveal it to the instance's admins instead (only with the reporter's consent); "
                "prints the report's id");
  on_run(cmd, ctx, Account::kNeeded, [w, &ctx](Client& c) { return report(c, *w, ctx.json); });
}

}  // namespace

void add_group_commands(CLI::App& group, Context& ctx) {
  add_membership(group, ctx);
  add_policy(group, ctx);
  add_moderation(group, ctx);
}

}  // namespace cercle::cli

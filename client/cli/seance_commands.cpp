// `cercle group seance|hand|floor|charter ...`: a groupe de parole's séances (its meetings). Each
// action is an event signed with this device's key that every member's client checks
// (client/sdk/client_seances.cpp); the relay holds back the messages the séance rules forbid.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

using client::Client;

namespace json = boost::json;

struct SeanceWords {
  std::string action, conv, handle, at, zone = "Europe/Paris";
  bool lower = false, back = false, write_only = false, turns = false, off = false;
  bool weekly = false;
  uint32_t minutes = 0;
  std::optional<uint32_t> erase_after;
};

// "2026-12-08T18:30+01:00" (or ...Z) as milliseconds since the epoch; nullopt if it is not that.
std::optional<int64_t> parse_time(const std::string& at) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, used = 0;
  if (std::sscanf(at.c_str(), "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &used) != 5)
    return std::nullopt;
  const std::string rest = at.substr(used);
  int offset_minutes = 0;
  if (rest != "Z") {
    int oh = 0, om = 0;
    if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') ||
        std::sscanf(rest.c_str() + 1, "%2d:%2d", &oh, &om) != 2)
      return std::nullopt;
    offset_minutes = (rest[0] == '-' ? -1 : 1) * (oh * 60 + om);
  }
  using namespace std::chrono;
  const year_month_day day{year{y}, month{static_cast<unsigned>(mo)},
                           std::chrono::day{static_cast<unsigned>(d)}};
  if (!day.ok() || h > 23 || mi > 59) return std::nullopt;
  const auto t = sys_days{day} + hours{h} + minutes{mi} - minutes{offset_minutes};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

// `seance schedule`: the group's planned séance (one slot; --off: none), in its signed profile.
int set_schedule(Client& c, const SeanceWords& w) {
  std::vector<client::SeanceSlot> slots;
  if (!w.off) {
    const auto start = parse_time(w.at);
    if (!start || w.minutes == 0)
      return fail(
          client::make_error(client::Errc::kInvalidArgument,
                             "give --at 2026-12-08T18:30+01:00 and --minutes N (or --off)"));
    slots.push_back(client::SeanceSlot{*start, w.minutes, w.weekly});
  }
  return done(c.set_seance_schedule(w.conv, slots, w.zone));
}

// `seance rules`: sets the group's séance rules to exactly the flags given (--off: none).
int set_seance_rules(Client& c, const SeanceWords& w) {
  auto rules = c.rules(w.conv);
  if (!rules) return fail(rules.error());
  rules->seances.reset();
  if (!w.off) {
    rules->seances = client::GroupRules::Seances{w.write_only, w.turns, w.erase_after.has_value(),
                                                 w.erase_after.value_or(0)};
  }
  return done(c.set_rules(w.conv, *rules));
}

std::string listed(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "personne" : out;
}

std::vector<client::SeanceSlot> planned(Client& c, const std::string& conv) {
  auto p = c.group_profile(conv);
  return p ? p->schedule : std::vector<client::SeanceSlot>{};
}

int show(Client& c, const std::string& conv, bool as_json) {
  auto s = c.seance(conv);
  if (!s) return fail(s.error());
  if (as_json) {
    json::array hands, confirmed, schedule;
    for (const auto& h : s->hands) hands.push_back(json::string(h));
    for (const auto& h : s->confirmed) confirmed.push_back(json::string(h));
    for (const auto& slot : planned(c, conv)) {
      schedule.push_back(json::object{{"start_ms", slot.start_ms},
                                      {"minutes", slot.duration_minutes},
                                      {"weekly", slot.weekly}});
    }
    std::cout << json::serialize(json::object{{"open", s->open},
                                              {"since_ms", s->since_ms},
                                              {"floor", s->floor},
                                              {"hands", hands},
                                              {"confirmed", confirmed},
                                              {"schedule", schedule}})
              << std::endl;
    return 0;
  }
  for (const auto& slot : planned(c, conv)) {
    const std::time_t t = slot.start_ms / 1000;
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
    std::cout << "séance prévue : " << when << ", " << slot.duration_minutes << " min"
              << (slot.weekly ? ", chaque semaine" : "") << "\n";
  }
  if (!s->open) {
    std::cout << "pas de séance en cours" << std::endl;
    return 0;
  }
  std::cout << "séance en cours\n"
            << "parole : " << (s->floor.empty() ? "libre" : s->floor) << "\n"
            << "mains levées : " << listed(s->hands) << "\n"
            << "charte confirmée par : " << listed(s->confirmed) << std::endl;
  return 0;
}

// `group seance open|close|show|rules|schedule GROUP ...`.
void add_seance(CLI::App& group, Context& ctx) {
  auto w = std::make_shared<SeanceWords>();
  auto* cmd = group.add_subcommand(
      "seance", "open, close or show the group's séance; set its rules (facilitators)");
  cmd->add_option("ACTION", w->action, "open, close, show, rules or schedule")
      ->required()
      ->check(CLI::IsMember({"open", "close", "show", "rules", "schedule"}));
  add_conv(cmd, w->conv);
  cmd->add_option("--minutes", w->minutes, "open, schedule: how long it is planned to last")
      ->type_name("N");
  cmd->add_option("--at", w->at, "schedule: when, as 2026-12-08T18:30+01:00")->type_name("TIME");
  cmd->add_flag("--weekly", w->weekly, "schedule: every week at that hour");
  cmd->add_option("--zone", w->zone, "schedule: the group's time zone (default Europe/Paris)");
  cmd->add_flag("--write-only", w->write_only, "rules: messages only during a séance");
  cmd->add_flag("--turns", w->turns, "rules: while the floor is given, only its holder writes");
  cmd->add_option("--erase-after", w->erase_after,
                  "rules: erase a séance's messages MINUTES after it closes")
      ->type_name("MINUTES");
  cmd->add_flag("--off", w->off, "rules, schedule: the group has none");
  on_run(cmd, ctx, Account::kNeeded, [w, &ctx](Client& c) {
    if (w->action == "open") return done(c.open_seance(w->conv, w->minutes));
    if (w->action == "close") return done(c.close_seance(w->conv));
    if (w->action == "rules") return set_seance_rules(c, *w);
    if (w->action == "schedule") return set_schedule(c, *w);
    return show(c, w->conv, ctx.json);
  });
}

// `group hand GROUP [--lower [HANDLE]]`: raises one's hand, or lowers one's own (or, for a
// facilitator, someone's).
void add_hand(CLI::App& group, Context& ctx) {
  auto w = std::make_shared<SeanceWords>();
  auto* cmd = group.add_subcommand("hand", "raise your hand in the séance, or lower a hand");
  add_conv(cmd, w->conv);
  auto* lower = cmd->add_option("--lower", w->handle, "lower your hand (or HANDLE's, facilitators)")
                    ->type_name("[HANDLE]")
                    ->expected(0, 1);
  on_run(cmd, ctx, Account::kNeeded, [w, lower](Client& c) {
    if (lower->count()) return done(c.lower_hand(w->conv, w->handle));
    return done(c.raise_hand(w->conv));
  });
}

// `group floor GROUP HANDLE|--back` (facilitators).
void add_floor(CLI::App& group, Context& ctx) {
  auto w = std::make_shared<SeanceWords>();
  auto* cmd = group.add_subcommand("floor", "give the floor to someone, or take it back (--back)");
  add_conv(cmd, w->conv);
  auto* handle = cmd->add_option("HANDLE", w->handle, "who gets the floor");
  auto* back = cmd->add_flag("--back", w->back, "the floor is nobody's again: everyone writes");
  handle->excludes(back);
  on_run(cmd, ctx, Account::kNeeded, [w](Client& c) {
    if (w->back) return done(c.take_floor_back(w->conv));
    if (w->handle.empty())
      return fail(
          client::make_error(client::Errc::kInvalidArgument, "name who gets the floor, or --back"));
    return done(c.give_floor(w->conv, w->handle));
  });
}

// `group charter confirm GROUP`: needed once per séance before writing in it.
void add_charter(CLI::App& group, Context& ctx) {
  auto w = std::make_shared<SeanceWords>();
  auto* cmd = group.add_subcommand("charter", "confirm the group's charter for this séance");
  cmd->add_option("ACTION", w->action, "confirm")->required()->check(CLI::IsMember({"confirm"}));
  add_conv(cmd, w->conv);
  on_run(cmd, ctx, Account::kNeeded, [w](Client& c) { return done(c.confirm_charter(w->conv)); });
}

}  // namespace

std::string seance_text(const client::Event& e) {
  const std::string& named = e.message.sender;
  if (e.detail == "opened") return e.by + " a ouvert la séance";
  if (e.detail == "closed") return e.by + " a clos la séance";
  if (e.detail == "floor_given") return e.by + " donne la parole à " + named;
  if (e.detail == "floor_back") return "la parole est libre (" + e.by + ")";
  if (e.detail == "hand_raised") return e.by + " lève la main";
  if (e.detail == "hand_lowered")
    return named == e.by ? e.by + " baisse la main" : e.by + " baisse la main de " + named;
  if (e.detail == "charter_confirmed") return e.by + " a confirmé la charte";
  return {};
}

void add_seance_commands(CLI::App& group, Context& ctx) {
  add_seance(group, ctx);
  add_hand(group, ctx);
  add_floor(group, ctx);
  add_charter(group, ctx);
}

}  // namespace cercle::cli

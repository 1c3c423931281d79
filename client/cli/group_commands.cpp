// `cercle group ...`: the rules, invitations and moderation of groupes de parole.
#include <iostream>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

using client::Event;
using client::Role;

namespace json = boost::json;

int done(const client::Status& s) { return s ? 0 : fail(s.error()); }

bool yes_no(const std::string& v, bool& out) {
  if (v == "yes" || v == "oui") return (out = true), true;
  if (v == "no" || v == "non") return (out = false), true;
  return false;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "personne" : out;
}

void print_rules(const client::GroupRules& r, bool as_json) {
  if (as_json) {
    json::array facilitators, banned, muted;
    for (const auto& h : r.facilitators) facilitators.push_back(json::string(h));
    for (const auto& h : r.banned) banned.push_back(json::string(h));
    for (const auto& h : r.muted) muted.push_back(json::string(h));
    std::cout << json::serialize(json::object{{"open_to_peers", r.open_to_peers},
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

void print_invitation(const client::Invitation& i, bool as_json) {
  if (as_json) {
    std::cout << json::serialize(json::object{{"invitation", i.id},
                                              {"conversation", i.conversation},
                                              {"inviter", i.inviter},
                                              {"invitee", i.invitee},
                                              {"professional", i.professional},
                                              {"accompanying", i.accompanying},
                                              {"expires_at_ms", i.expires_at_ms},
                                              {"charter", i.charter}})
              << std::endl;
    return;
  }
  std::cout << i.id << " groupe " << i.conversation << " invité·e par " << i.inviter
            << (i.professional ? " (professionnel·le)" : "")
            << (i.accompanying.empty() ? "" : ", pour accompagner " + i.accompanying)
            << "\n  charte : " << (i.charter.empty() ? "(aucune)" : i.charter) << std::endl;
}

int policy_command(client::Client& c, const std::vector<std::string>& r, bool as_json) {
  auto rules = c.rules(r[2]);
  if (!rules) return fail(rules.error());
  if (r.size() == 3) {
    print_rules(*rules, as_json);
    return 0;
  }
  for (size_t i = 3; i + 1 < r.size(); i += 2) {
    const std::string& flag = r[i];
    const std::string& value = r[i + 1];
    bool ok = true;
    if (flag == "--open") {
      ok = yes_no(value, rules->open_to_peers);
    } else if (flag == "--relatives") {
      ok = yes_no(value, rules->relatives_admitted);
    } else if (flag == "--retention") {
      rules->retention_days = static_cast<uint32_t>(std::stoul(value));
    } else if (flag == "--charter") {
      rules->charter = value;
    } else if (flag == "--objection-hours") {
      rules->objection_hours = static_cast<uint32_t>(std::stoul(value));
    } else {
      ok = false;
    }
    if (!ok) return 2;
  }
  if ((r.size() - 3) % 2 != 0) return 2;
  return done(c.set_rules(r[2], *rules));
}

int report_command(client::Client& c, const std::vector<std::string>& r, bool as_json) {
  const uint64_t seq = std::stoull(r[3]);
  const bool to_admins = r.size() == 6 && r[5] == "--to-admins";
  if (!to_admins) return done(c.report(r[2], seq, r[4]));
  auto id = c.report_to_admins(r[2], seq, r[4]);
  if (!id) return fail(id.error());
  if (as_json) {
    std::cout << json::serialize(json::object{{"report", *id}}) << std::endl;
  } else {
    std::cout << *id << std::endl;
  }
  return 0;
}

int invitation_command(client::Client& c, const std::vector<std::string>& r, bool as_json) {
  const std::string& what = r[1];
  if (what == "invite" && r.size() >= 4) {
    const std::string hours = option(r, "--hours");
    auto i = c.invite(r[2], r[3], option(r, "--accompanying"),
                      std::chrono::hours(hours.empty() ? 72 : std::stol(hours)));
    if (!i) return fail(i.error());
    if (as_json) {
      print_invitation(*i, true);
    } else {
      std::cout << i->id << std::endl;
    }
    return 0;
  }
  if (what == "invitations" && r.size() == 2) {
    auto list = c.invitations();
    if (!list) return fail(list.error());
    for (const auto& i : *list) print_invitation(i, as_json);
    return 0;
  }
  if (what == "accept" && r.size() == 3) {
    auto list = c.invitations();
    if (!list) return fail(list.error());
    for (const auto& i : *list) {
      if (i.id == r[2]) return done(c.accept_invitation(i));
    }
    return fail(client::make_error(client::Errc::kNotFound, "no pending invitation with this id"));
  }
  if (what == "revoke" && r.size() == 4) return done(c.revoke_invitation(r[2], r[3]));
  if (what == "object" && r.size() == 4) return done(c.object_to_invitation(r[2], r[3]));
  return 2;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kFacilitator:
      return "facilitator";
    case Role::kInvitedProfessional:
      return "invited_professional";
    default:
      return "member";
  }
}

std::string member_marks(const client::Member& m) {
  std::string out;
  if (m.role == Role::kFacilitator) out += " (animation)";
  if (m.professional) {
    out += " (professionnel·le";
    if (!m.accompanying.empty()) out += ", accompagne " + m.accompanying;
    out += ")";
  }
  return out;
}

void print_event(const Event& e, bool as_json) {
  const auto& i = e.invitation;
  std::string text;
  switch (e.kind) {
    case Event::Kind::kInvited:
      text = i.inviter + " a invité " + (i.professional ? "le ou la professionnel·le " : "") +
             i.invitee + (i.accompanying.empty() ? "" : ", pour accompagner " + i.accompanying);
      break;
    case Event::Kind::kInvitation:
      text = "vous êtes invité·e par " + i.inviter + " (invitation " + i.id + ")";
      break;
    case Event::Kind::kInvitationAccepted:
      text = i.invitee + " a accepté la charte";
      break;
    case Event::Kind::kInvitationRevoked:
      text = e.by + " a retiré l'invitation de " + i.invitee;
      break;
    case Event::Kind::kObjection:
      text = e.by + " s'oppose à l'invitation de " + i.invitee;
      break;
    case Event::Kind::kJoinRequest:
      text = e.by + " demande à rejoindre le groupe";
      break;
    case Event::Kind::kMessageDeleted:
      text = "le message #" + std::to_string(e.seq) + " a été supprimé par " + e.by;
      break;
    case Event::Kind::kReport:
      text = "signalement de " + e.report.reporter + " sur le message #" +
             std::to_string(e.report.seq) + " (« " + e.report.text + " ») : " + e.report.reason;
      break;
    case Event::Kind::kAdminAnswer:
      text = "réponse de l'administration : " + e.detail;
      break;
    case Event::Kind::kJoined:
      text = "vous avez rejoint le groupe";
      break;
    case Event::Kind::kLeft:
      text = "vous ne faites plus partie du groupe";
      break;
    case Event::Kind::kMembersChanged:
      text = "les membres ont changé";
      break;
    case Event::Kind::kDeviceAdded:
      text = e.by + " a un nouvel appareil (" + e.detail + ")" +
             (e.verify_again ? " : " + e.by + " est à vérifier de nouveau (cercle verify)" : "") +
             (e.unapproved ? " ; ATTENTION : aucun appareil de " + e.by +
                                 " ne l'a approuvé (a device its owner never approved)"
                           : "");
      break;
    default:
      return;
  }
  if (as_json) {
    std::cout << json::serialize(json::object{{"conversation", e.conversation}, {"event", text}})
              << std::endl;
  } else {
    std::cout << (e.conversation.empty() ? std::string("--------") : e.conversation.substr(0, 8))
              << " * " << text << std::endl;
  }
}

int moderation_command(client::Client& c, const std::vector<std::string>& r, bool as_json) {
  if (r.size() < 2) return 2;
  const std::string& what = r[1];
  if (what == "policy" && r.size() >= 3) return policy_command(c, r, as_json);
  if (what == "role" && r.size() == 5 && (r[4] == "facilitator" || r[4] == "member")) {
    return done(c.set_role(r[2], r[3], r[4] == "facilitator" ? Role::kFacilitator : Role::kMember));
  }
  if ((what == "ban" || what == "unban") && r.size() == 4) {
    return done(what == "ban" ? c.ban(r[2], r[3]) : c.unban(r[2], r[3]));
  }
  if ((what == "mute" || what == "unmute") && r.size() == 4)
    return done(c.mute(r[2], r[3], what == "mute"));
  if (what == "delete" && r.size() == 4) return done(c.delete_message(r[2], std::stoull(r[3])));
  if (what == "report" && (r.size() == 5 || r.size() == 6)) return report_command(c, r, as_json);
  if (what == "open" && r.size() == 2) {
    auto groups = c.open_groups();
    if (!groups) return fail(groups.error());
    for (const auto& g : *groups) {
      if (as_json) {
        std::cout << json::serialize(json::object{{"conversation", g.conversation},
                                                  {"charter", g.charter},
                                                  {"members", g.members}})
                  << std::endl;
      } else {
        std::cout << g.conversation << " " << g.members << " membres, charte : " << g.charter
                  << std::endl;
      }
    }
    return 0;
  }
  if (what == "join" && r.size() == 3) return done(c.request_join(r[2]));
  return invitation_command(c, r, as_json);
}

}  // namespace cercle::cli

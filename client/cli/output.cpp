// How `cercle` declares a command, and what it prints: exit codes, messages, group events.
#include <iostream>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

using client::Errc;
using client::Event;
using client::Role;

namespace json = boost::json;

void on_run(CLI::App* cmd, Context& ctx, Account account, std::function<int(client::Client&)> fn) {
  cmd->callback([&ctx, account, fn = std::move(fn)] {
    ctx.action = fn;
    ctx.needs_account = account == Account::kNeeded;
  });
}

CLI::Option* add_conv(CLI::App* cmd, std::string& out) {
  return cmd->add_option("CONV", out, "a conversation id, as `cercle conversations` lists it")
      ->required();
}

CLI::Option* add_handle(CLI::App* cmd, std::string& out, const std::string& name,
                        const std::string& whose) {
  return cmd->add_option(name, out, whose)->required();
}

int exit_code(const client::Error& e) {
  switch (e.code) {
    case Errc::kBadPassphrase:
      return 3;
    case Errc::kNetwork:
      return 4;
    case Errc::kServer:
    case Errc::kRefused:
      return 5;
    case Errc::kNotFound:
      return 6;
    case Errc::kNotRegistered:
      return 7;
    case Errc::kStorage:
      return 8;
    default:
      return 1;
  }
}

int fail(const client::Error& e) {
  std::cerr << "cercle: " << e.message << "\n";
  return exit_code(e);
}

int done(const client::Status& s) { return s ? 0 : fail(s.error()); }

void print_id(const std::string& id, bool as_json) {
  if (as_json) {
    std::cout << json::serialize(json::object{{"conversation", id}}) << std::endl;
  } else {
    std::cout << id << std::endl;
  }
}

void print_message(const client::Message& m, bool as_json) {
  if (as_json) {
    json::object o{{"conversation", m.conversation}, {"seq", m.seq},   {"sender", m.sender},
                   {"time_ms", m.time_ms},           {"text", m.text}, {"own", m.own},
                   {"professional", m.professional}};
    std::cout << json::serialize(o) << std::endl;
  } else {
    std::cout << m.conversation.substr(0, 8) << " #" << m.seq << " " << m.sender
              << (m.professional ? " (professionnel·le)" : "") << ": " << m.text << std::endl;
  }
}

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
    case Event::Kind::kGroupProfile:
      text = e.by + " a nommé le groupe « " + e.detail + " »";
      break;
    case Event::Kind::kInvitationDeclined:
      text = i.invitee + " a refusé l'invitation";
      break;
    case Event::Kind::kListingPublished:
      text = e.detail.empty() ? e.by + " a retiré le groupe de la liste publique"
                              : e.by + " a publié le groupe sous le nom « " + e.detail +
                                    " » (l'association et tous les pairs le voient)";
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

}  // namespace cercle::cli

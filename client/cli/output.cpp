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

namespace {

// What an event about an invitation says, in plain French ("" for another kind of event).
std::string invitation_text(const Event& e) {
  const auto& i = e.invitation;
  switch (e.kind) {
    case Event::Kind::kInvited:
      return i.inviter + " a invité " + (i.professional ? "le ou la professionnel·le " : "") +
             i.invitee + (i.accompanying.empty() ? "" : ", pour accompagner " + i.accompanying);
    case Event::Kind::kInvitation:
      return "vous êtes invité·e par " + i.inviter + " (invitation " + i.id + ")";
    case Event::Kind::kInvitationAccepted:
      return i.invitee + " a accepté la charte";
    case Event::Kind::kInvitationRevoked:
      return e.by + " a retiré l'invitation de " + i.invitee;
    case Event::Kind::kObjection:
      return e.by + " s'oppose à l'invitation de " + i.invitee;
    case Event::Kind::kInvitationDeclined:
      return i.invitee + " a refusé l'invitation";
    default:
      return {};
  }
}

// What any event says ("" for one the command line does not show).
std::string event_text(const Event& e) {
  if (auto text = invitation_text(e); !text.empty()) return text;
  switch (e.kind) {
    case Event::Kind::kJoinRequest:
      return e.by + " demande à rejoindre le groupe";
    case Event::Kind::kMessageDeleted:
      return "le message #" + std::to_string(e.seq) + " a été supprimé par " + e.by;
    case Event::Kind::kReport:
      return "signalement de " + e.report.reporter + " sur le message #" +
             std::to_string(e.report.seq) + " (« " + e.report.text + " ») : " + e.report.reason;
    case Event::Kind::kAdminAnswer:
      return "réponse de l'administration : " + e.detail;
    case Event::Kind::kGroupProfile:
      return e.by + " a nommé le groupe « " + e.detail + " »";
    case Event::Kind::kListingPublished:
      return e.detail.empty() ? e.by + " a retiré le groupe de la liste publique"
                              : e.by + " a publié le groupe sous le nom « " + e.detail +
                                    " » (l'association et tous les pairs le voient)";
    case Event::Kind::kSeance:
      return seance_text(e);
    case Event::Kind::kJoined:
      return "vous avez rejoint le groupe";
    case Event::Kind::kLeft:
      return "vous ne faites plus partie du groupe";
    case Event::Kind::kMembersChanged:
      return "les membres ont changé";
    case Event::Kind::kDeviceAdded:
      return e.by + " a un nouvel appareil (" + e.detail + ")" +
             (e.verify_again ? " : " + e.by + " est à vérifier de nouveau (cercle verify)" : "") +
             (e.unapproved ? " ; ATTENTION : aucun appareil de " + e.by +
                                 " ne l'a approuvé (a device its owner never approved)"
                           : "");
    default:
      return {};
  }
}

}  // namespace

void print_event(const Event& e, bool as_json) {
  const std::string text = event_text(e);
  if (text.empty()) return;
  if (as_json) {
    std::cout << json::serialize(json::object{{"conversation", e.conversation}, {"event", text}})
              << std::endl;
  } else {
    std::cout << (e.conversation.empty() ? std::string("--------") : e.conversation.substr(0, 8))
              << " * " << text << std::endl;
  }
}

}  // namespace cercle::cli

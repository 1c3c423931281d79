// `cercle group invite|revoke|invitations|accept|decline|object`: invitations to a groupe de
// parole, with the charter the invitee accepts and the members' objection to a professional.
#include <chrono>
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

using client::Client;

namespace json = boost::json;

struct Words {
  std::string conv, handle, accompanying, invitation;
  long hours = 72;
};

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

void add_invite(CLI::App& group, Context& ctx) {
  auto w = std::make_shared<Words>();
  auto* cmd = group.add_subcommand("invite", "invite someone; prints the invitation's id");
  add_conv(cmd, w->conv);
  add_handle(cmd, w->handle, "HANDLE", "the handle of the person invited");
  cmd->add_option("--accompanying", w->accompanying,
                  "invite a professional to accompany this member")
      ->type_name("HANDLE");
  cmd->add_option("--hours", w->hours, "how long the invitation stays valid")
      ->type_name("N")
      ->capture_default_str();
  on_run(cmd, ctx, Account::kNeeded, [w, &ctx](Client& c) {
    auto i = c.invite(w->conv, w->handle, w->accompanying, std::chrono::hours(w->hours));
    if (!i) return fail(i.error());
    if (ctx.json) {
      print_invitation(*i, true);
    } else {
      std::cout << i->id << std::endl;
    }
    return 0;
  });
}

// Accepts (or, `decline`, declines) the pending invitation `id`.
int answer(Client& c, const std::string& id, bool decline) {
  auto list = c.invitations();
  if (!list) return fail(list.error());
  for (const auto& i : *list) {
    if (i.id == id) return done(decline ? c.decline_invitation(i) : c.accept_invitation(i));
  }
  return fail(client::make_error(client::Errc::kNotFound,
                                 "no pending invitation with this id (see cercle group "
                                 "invitations)"));
}

// A command over CONV and INVITATION (revoke, object).
void add_on_invitation(CLI::App& group, Context& ctx, const std::string& name,
                       const std::string& description,
                       std::function<client::Status(Client&, const Words&)> fn) {
  auto w = std::make_shared<Words>();
  auto* cmd = group.add_subcommand(name, description);
  add_conv(cmd, w->conv);
  cmd->add_option("INVITATION", w->invitation,
                  "an invitation's id, as `cercle group invite` "
                  "printed it")
      ->required();
  on_run(cmd, ctx, Account::kNeeded, [w, fn](Client& c) { return done(fn(c, *w)); });
}

}  // namespace

void add_invitation_commands(CLI::App& group, Context& ctx) {
  add_invite(group, ctx);
  add_on_invitation(
      group, ctx, "revoke", "revoke a pending invitation",
      [](Client& c, const Words& w) { return c.revoke_invitation(w.conv, w.invitation); });
  auto* list = group.add_subcommand("invitations", "invitations for you, with their charter");
  on_run(list, ctx, Account::kNeeded, [&ctx](Client& c) {
    auto invitations = c.invitations();
    if (!invitations) return fail(invitations.error());
    for (const auto& i : *invitations) print_invitation(i, ctx.json);
    return 0;
  });
  for (const bool decline : {false, true}) {
    auto id = std::make_shared<std::string>();
    auto* cmd = decline
                    ? group.add_subcommand("decline", "decline an invitation (the group is told)")
                    : group.add_subcommand("accept", "accept an invitation's charter (and join)");
    cmd->add_option("INVITATION", *id, "an invitation's id, as `cercle group invitations` lists it")
        ->required();
    on_run(cmd, ctx, Account::kNeeded,
           [id, decline](Client& c) { return answer(c, *id, decline); });
  }
  add_on_invitation(
      group, ctx, "object", "object to a professional's invitation",
      [](Client& c, const Words& w) { return c.object_to_invitation(w.conv, w.invitation); });
}

}  // namespace cercle::cli

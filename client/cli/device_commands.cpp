// `cercle device ...` and `cercle devices`: approving a new device of one's account with the code
// it shows, and listing the account's devices from its verified device chain.
#include <chrono>
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

namespace json = boost::json;
using client::Client;

constexpr auto kPairingWait = std::chrono::minutes(10);  // The relay keeps a request that long.

void say(bool as_json, const json::object& o, const std::string& text) {
  if (as_json) {
    std::cout << json::serialize(o) << std::endl;
  } else {
    std::cout << text << std::endl;
  }
}

// On the new device: asks, shows the code once a device of the account starts the approval, and
// waits until the person approved it there.
int request_command(Client& c, const std::string& handle, bool as_json) {
  if (c.registered()) {
    return fail(
        client::make_error(client::Errc::kInvalidArgument, "this device already has an account"));
  }
  auto id = c.request_device(handle);
  if (!id) return fail(id.error());
  say(as_json, {{"request", *id}},
      "Demande envoyée. Sur un appareil déjà connecté à " + handle + " : cercle device approve " +
          *id + "\n(Request sent. On a device already signed in: cercle device approve " + *id +
          ")");
  auto code = c.pairing_code(kPairingWait);
  if (!code) return fail(code.error());
  say(as_json, {{"request", *id}, {"code", *code}},
      "Code à taper sur l'autre appareil : " + *code +
          "\n(Type this code on the other device: " + *code + ")");
  if (auto s = c.await_approval(kPairingWait); !s) return fail(s.error());
  say(as_json, {{"handle", c.handle()}, {"approved", true}},
      "Cet appareil est maintenant un appareil de " + c.handle() +
          ".\n(This device is now a device of " + c.handle() + ".)");
  return 0;
}

int requests_command(Client& c, bool as_json) {
  auto requests = c.device_requests();
  if (!requests) return fail(requests.error());
  if (requests->empty() && !as_json) {
    std::cout << "Aucune demande. (No request.)" << std::endl;
  }
  for (const auto& r : *requests) {
    say(as_json,
        {{"request", r.id},
         {"fingerprint", r.fingerprint},
         {"created_ms", r.created_ms},
         {"started", r.started}},
        r.id + " nouvel appareil " + r.fingerprint + (r.started ? " (approbation commencée)" : ""));
  }
  return 0;
}

// Without a code: starts the approval (the new device then shows its code). With one: approves
// the device only if it is the code the new device shows.
int approve_command(Client& c, const std::string& id, const std::string& code, bool as_json) {
  if (code.empty()) {
    if (auto s = c.start_approval(id); !s) return fail(s.error());
    say(as_json, {{"request", id}, {"started", true}},
        "Le nouvel appareil affiche maintenant un code. Tapez : cercle device approve " + id +
            " CODE\n(The new device now shows a code. Type: cercle device approve " + id +
            " CODE)");
    return 0;
  }
  if (auto s = c.approve_device(id, code); !s) return fail(s.error());
  say(as_json, {{"request", id}, {"approved", true}},
      "Nouvel appareil approuvé. (New device approved.)");
  return 0;
}

// Old devices approve a new one only on an account.
int with_account(Client& c, const std::function<int()>& fn) {
  if (!c.registered()) {
    return fail(client::make_error(client::Errc::kNotRegistered,
                                   "no account yet: run cercle register or cercle device request"));
  }
  return fn();
}

int devices(Client& c, bool as_json) {
  auto devices = c.account_devices();
  if (!devices) return fail(devices.error());
  if (devices->empty() && !as_json) {
    std::cout << "Le serveur ne tient pas encore de liste signée des appareils.\n"
                 "(The server keeps no signed device list yet.)"
              << std::endl;
  }
  for (const auto& d : *devices) {
    say(as_json, {{"fingerprint", d.fingerprint}, {"added_seq", d.added_seq}, {"self", d.self}},
        d.fingerprint + (d.self ? " (cet appareil)" : ""));
  }
  return 0;
}

}  // namespace

void add_device_commands(CLI::App& app, Context& ctx) {
  auto* list = app.add_subcommand("devices", "your account's devices, from its signed chain");
  on_run(list, ctx, Account::kNeeded, [&ctx](Client& c) { return devices(c, ctx.json); });
  auto* device = app.add_subcommand("device", "add a new device to your account, with a code");
  device->require_subcommand(1);
  auto handle = std::make_shared<std::string>();
  auto* request = device->add_subcommand(
      "request",
      "(on the new device) ask to become a device of HANDLE; shows a code once the "
      "approval starts, then waits until it is approved");
  add_handle(request, *handle, "HANDLE", "your account's handle");
  on_run(request, ctx, Account::kNotNeeded,
         [handle, &ctx](Client& c) { return request_command(c, *handle, ctx.json); });
  auto* requests = device->add_subcommand("requests", "new devices asking to join your account");
  on_run(requests, ctx, Account::kNotNeeded, [&ctx](Client& c) {
    return with_account(c, [&] { return requests_command(c, ctx.json); });
  });
  struct Words {
    std::string id, code;
  };
  auto w = std::make_shared<Words>();
  auto* approve = device->add_subcommand(
      "approve",
      "without CODE: start approving (the new device then shows a code); with CODE: "
      "approve it (refused when the code differs: nothing is added)");
  approve->add_option("REQUEST", w->id, "a request's id, as `cercle device requests` lists it")
      ->required();
  approve->add_option("CODE", w->code, "the code the new device shows");
  on_run(approve, ctx, Account::kNotNeeded, [w, &ctx](Client& c) {
    return with_account(c, [&] { return approve_command(c, w->id, w->code, ctx.json); });
  });
}

}  // namespace cercle::cli

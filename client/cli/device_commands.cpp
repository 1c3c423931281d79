// `cercle device ...` and `cercle devices`: approving a new device of one's account with the code
// it shows, and listing the account's devices from its verified device chain.
#include <chrono>
#include <iostream>

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

}  // namespace

int device_command(Client& c, const std::vector<std::string>& rest, bool as_json) {
  const auto& r = rest;
  if (r.size() == 3 && r[1] == "request") return request_command(c, r[2], as_json);
  if (!c.registered()) {
    return fail(client::make_error(client::Errc::kNotRegistered,
                                   "no account yet: run cercle register or cercle device request"));
  }
  if (r.size() == 2 && r[1] == "requests") return requests_command(c, as_json);
  if ((r.size() == 3 || r.size() == 4) && r[1] == "approve") {
    return approve_command(c, r[2], r.size() == 4 ? r[3] : std::string(), as_json);
  }
  return 2;
}

int devices_command(Client& c, bool as_json) {
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

}  // namespace cercle::cli

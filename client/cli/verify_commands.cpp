// `cercle group members` (each person with their devices) and `cercle verify` (safety numbers,
// docs/safety-numbers.md). Devices come from the conversation's MLS leaves, through the SDK.
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

using client::Verification;

namespace json = boost::json;

const char* verification_name(Verification v) {
  switch (v) {
    case Verification::kVerified:
      return "verified";
    case Verification::kChanged:
      return "changed";
    default:
      return "unverified";
  }
}

const char* verification_text(Verification v) {
  switch (v) {
    case Verification::kVerified:
      return "vérifié·e";
    case Verification::kChanged:
      return "à vérifier de nouveau (ses appareils ou les vôtres ont changé)";
    default:
      return "pas vérifié·e";
  }
}

json::array strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.push_back(json::string(s));
  return out;
}

std::string listed(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string devices_text(size_t n) {
  return std::to_string(n) + (n > 1 ? " appareils" : " appareil");
}

// The digits of `words` regrouped by 5, as the SDK writes a safety number ("" if none).
std::string normalised(const std::vector<std::string>& words) {
  std::string digits;
  for (const auto& w : words) {
    for (char ch : w) {
      if (std::isdigit(static_cast<unsigned char>(ch))) digits.push_back(ch);
    }
  }
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && i % 5 == 0) out.push_back(' ');
    out.push_back(digits[i]);
  }
  return out;
}

void print_number(const client::SafetyNumber& n, const std::string& conv, bool as_json) {
  if (as_json) {
    std::cout << json::serialize(json::object{{"handle", n.handle},
                                              {"number", n.number},
                                              {"devices", strings(n.devices)},
                                              {"own_devices", strings(n.own_devices)},
                                              {"verification", verification_name(n.verification)}})
              << std::endl;
    return;
  }
  std::cout << "Numéro de sécurité avec " << n.handle << " :\n"
            << n.number.substr(0, 35) << "\n"
            << n.number.substr(36) << "\n"
            << "Appareils de " << n.handle << " (" << n.devices.size()
            << ") : " << listed(n.devices) << "\n"
            << "Vos appareils (" << n.own_devices.size() << ") : " << listed(n.own_devices) << "\n"
            << "État : " << verification_text(n.verification) << "\n";
  if (n.verification != Verification::kVerified) {
    std::cout << "Comparez ces chiffres avec " << n.handle
              << " (en personne ou de vive voix). S'ils sont les mêmes : cercle verify " << conv
              << " " << n.handle << " --confirm " << n.number << "\n";
  }
}

int members(client::Client& c, const std::string& conv, bool as_json) {
  auto members = c.members(conv);
  if (!members) return fail(members.error());
  auto devices = c.devices(conv);
  if (!devices) return fail(devices.error());
  std::map<std::string, std::vector<std::string>> prints;
  for (const auto& d : *devices) prints[d.handle].push_back(d.fingerprint);
  json::array out;
  std::map<std::string, bool> shown;
  for (const auto& m : *members) {  // One per leaf: each person once, with all their devices.
    if (shown[m.handle]) continue;
    shown[m.handle] = true;
    Verification v = Verification::kUnverified;
    if (!m.self) {
      if (auto number = c.safety_number(conv, m.handle)) v = number->verification;
    }
    const auto& fps = prints[m.handle];
    if (as_json) {
      out.push_back(json::object{{"handle", m.handle},
                                 {"leaf", m.leaf},
                                 {"self", m.self},
                                 {"professional", m.professional},
                                 {"role", role_name(m.role)},
                                 {"accompanying", m.accompanying},
                                 {"devices", strings(fps)},
                                 {"verification", m.self ? "self" : verification_name(v)}});
    } else {
      std::cout << m.handle << member_marks(m) << (m.self ? " (vous)" : "") << " — "
                << devices_text(fps.size()) << " : " << listed(fps);
      if (!m.self) std::cout << " — " << verification_text(v);
      std::cout << std::endl;
    }
  }
  if (as_json) std::cout << json::serialize(out) << std::endl;
  return 0;
}

// verify CONV HANDLE [--confirm [NUMBER...]]
int verify(client::Client& c, const std::string& conv, const std::string& handle, bool confirm,
           const std::vector<std::string>& compared_words, bool as_json) {
  (void)c.poll(std::chrono::milliseconds(200));  // Take in the group's latest changes first.
  auto number = c.safety_number(conv, handle);
  if (!number) return fail(number.error());
  if (!confirm) {
    print_number(*number, conv, as_json);
    return 0;
  }
  // With the number the user compared, a device added since it was shown is caught; without,
  // the number shown now is confirmed (and printed, so the user sees what they confirmed).
  std::vector<std::string> words;
  for (const auto& w : compared_words) {
    if (!w.empty()) words.push_back(w);
  }
  const std::string compared = words.empty() ? number->number : normalised(words);
  if (auto s = c.mark_verified(conv, handle, compared); !s) return fail(s.error());
  number->verification = Verification::kVerified;
  print_number(*number, conv, as_json);
  return 0;
}

}  // namespace

void add_verify_commands(CLI::App& app, CLI::App& group, Context& ctx) {
  auto conv = std::make_shared<std::string>();
  auto* list = group.add_subcommand(
      "members",
      "list the members, each with their devices' fingerprints (from the group's MLS "
      "leaves) and whether you verified them");
  add_conv(list, *conv);
  on_run(list, ctx, Account::kNeeded,
         [conv, &ctx](client::Client& c) { return members(c, *conv, ctx.json); });
  struct Words {
    std::string conv, handle;
    std::vector<std::string> number;
  };
  auto w = std::make_shared<Words>();
  auto* cmd = app.add_subcommand(
      "verify",
      "show the safety number you and HANDLE compare (docs/safety-numbers.md), or "
      "mark HANDLE verified");
  add_conv(cmd, w->conv);
  add_handle(cmd, w->handle, "HANDLE", "the handle of the person you compare numbers with");
  auto* confirm =
      cmd->add_option("--confirm", w->number,
                      "mark HANDLE verified; give the NUMBER you compared (refused if the "
                      "devices changed since)")
          ->type_name("[NUMBER]")
          ->expected(0, CLI::detail::expected_max_vector_size);
  on_run(cmd, ctx, Account::kNeeded, [w, confirm, &ctx](client::Client& c) {
    return verify(c, w->conv, w->handle, confirm->count() > 0, w->number, ctx.json);
  });
}

}  // namespace cercle::cli

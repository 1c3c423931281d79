// `cercle group members` (each person with their devices) and `cercle verify` (safety numbers,
// docs/safety-numbers.md). Devices come from the conversation's MLS leaves, through the SDK.
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>

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

}  // namespace

int members_command(client::Client& c, const std::string& conv, bool as_json) {
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

int verify_command(client::Client& c, const std::vector<std::string>& r, bool as_json) {
  // verify CONVERSATION HANDLE [--confirm [NUMBER...]]
  if (r.size() < 3 || (r.size() > 3 && r[3] != "--confirm")) return 2;
  (void)c.poll(std::chrono::milliseconds(200));  // Take in the group's latest changes first.
  auto number = c.safety_number(r[1], r[2]);
  if (!number) return fail(number.error());
  if (r.size() == 3) {
    print_number(*number, r[1], as_json);
    return 0;
  }
  // With the number the user compared, a device added since it was shown is caught; without,
  // the number shown now is confirmed (and printed, so the user sees what they confirmed).
  const std::vector<std::string> words(r.begin() + 4, r.end());
  const std::string compared = words.empty() ? number->number : normalised(words);
  if (auto s = c.mark_verified(r[1], r[2], compared); !s) return fail(s.error());
  number->verification = Verification::kVerified;
  print_number(*number, r[1], as_json);
  return 0;
}

}  // namespace cercle::cli

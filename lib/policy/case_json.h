// Tests only: reading the cases files (policy_cases.json, seance_cases.json) that the C++ runners
// and the web client's runners share. Any thread; each call reads the file again.
#pragma once

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace cercle::policy::cases {

// The cases file `name` of lib/policy, parsed. Throws on a file that is not JSON (a test failure).
inline boost::json::object load(std::string_view name) {
  std::ifstream in(std::string(CERCLE_SOURCE_DIR) + "/lib/policy/" + std::string(name));
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

// The string at `key`, or `fallback` when the key is absent.
inline std::string text(const boost::json::object& o, std::string_view key,
                        std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  return v ? std::string(v->as_string()) : fallback;
}

// The array at `key`, or an empty one when the key is absent.
inline const boost::json::array& list(const boost::json::object& o, std::string_view key) {
  static const boost::json::array kEmpty;
  const auto* v = o.if_contains(key);
  return v ? v->as_array() : kEmpty;
}

}  // namespace cercle::policy::cases

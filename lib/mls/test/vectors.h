// Shared helpers of the IETF test-vector runner (test code: JSON access may throw; the runner
// counts an exception as a failed entry).
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "cercle/mls/bytes.h"

namespace cercle::mls::vectors {

namespace json = boost::json;

// Hex field `key` of `o` as bytes (throws on a missing key or bad hex).
Bytes hex(const json::object& o, std::string_view key);
Bytes hex_value(const json::value& v);
uint64_t num(const json::object& o, std::string_view key);
std::string str(const json::object& o, std::string_view key);

// Each check returns an empty string on success, else what failed.
using Check = std::string (*)(const json::object&);

std::string tree_math(const json::object& v);
std::string deserialization(const json::object& v);
std::string crypto_basics(const json::object& v);
std::string secret_tree(const json::object& v);
std::string key_schedule(const json::object& v);
std::string psk_secret(const json::object& v);
std::string transcript_hashes(const json::object& v);
std::string message_protection(const json::object& v);
std::string tree_validation(const json::object& v);
std::string tree_operations(const json::object& v);
std::string treekem(const json::object& v);
std::string messages(const json::object& v);
std::string welcome(const json::object& v);
std::string passive_client(const json::object& v);

}  // namespace cercle::mls::vectors

// Fails the current check with a message when `cond` is false.
#define VEC_EXPECT(cond, msg)             \
  do {                                    \
    if (!(cond)) return std::string(msg); \
  } while (0)

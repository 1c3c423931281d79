// Runs the official MLS test vectors: prints "FILE: N passed, M failed" per file and exits
// non-zero unless every counted entry passed. Entries for cipher suites other than 3 are not
// counted, except in tree-operations where every entry is.
#include <fstream>
#include <iostream>
#include <sstream>

#include "lib/mls/test/vectors.h"

namespace cercle::mls::vectors {

Bytes hex_value(const json::value& v) {
  auto b = from_hex(std::string_view(v.as_string()));
  if (!b) throw std::runtime_error("bad hex");
  return *b;
}
Bytes hex(const json::object& o, std::string_view key) { return hex_value(o.at(key)); }
uint64_t num(const json::object& o, std::string_view key) {
  return o.at(key).to_number<uint64_t>();
}
std::string str(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

}  // namespace cercle::mls::vectors

namespace {

using namespace cercle::mls::vectors;

struct FileSpec {
  const char* name;
  Check check;
  bool all_suites;
};

const FileSpec kFiles[] = {
    {"tree-math", tree_math, true},
    {"deserialization", deserialization, true},
    {"crypto-basics", crypto_basics, false},
    {"secret-tree", secret_tree, false},
    {"key-schedule", key_schedule, false},
    {"psk_secret", psk_secret, false},
    {"transcript-hashes", transcript_hashes, false},
    {"message-protection", message_protection, false},

    {"tree-validation", tree_validation, false},
    {"tree-operations", tree_operations, true},
    {"treekem", treekem, false},
    {"messages", messages, true},
    {"welcome", welcome, false},
    {"passive-client-welcome", passive_client, false},
    {"passive-client-handling-commit", passive_client, false},
};

bool run_file(const std::string& dir, const FileSpec& spec) {
  std::ifstream in(dir + "/" + spec.name + ".json");
  if (!in) {
    std::cout << spec.name << ": 0 passed, 1 failed (file missing)\n";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json::value root = json::parse(ss.str());
  int passed = 0, failed = 0, index = -1;
  for (const auto& entry : root.as_array()) {
    ++index;
    const auto& o = entry.as_object();
    if (!spec.all_suites && o.contains("cipher_suite") && num(o, "cipher_suite") != 3) continue;
    std::string why;
    try {
      why = spec.check(o);
    } catch (const std::exception& e) {
      why = std::string("exception: ") + e.what();
    }
    if (why.empty()) {
      ++passed;
    } else {
      ++failed;
      std::cerr << spec.name << "[" << index << "]: " << why << "\n";
    }
  }
  std::cout << spec.name << ": " << passed << " passed, " << failed << " failed\n";
  return failed == 0 && passed > 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "tests/vectors/mls";
  bool ok = true;
  for (const auto& spec : kFiles) ok = run_file(dir, spec) && ok;
  return ok ? 0 : 1;
}

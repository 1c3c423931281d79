// Tests only: Ed25519 key pairs made on first use, by name, for the cases files (policy_cases.json,
// seance_cases.json): the cases say who signs, never key bytes. Not thread-safe (one test's).
#pragma once

#include <sodium.h>

#include <array>
#include <map>
#include <string>

namespace cercle::policy {

class CaseKeys {
 public:
  const unsigned char* secret(const std::string& name) { return pair(name).sk.data(); }
  std::string public_key(const std::string& name) {
    if (name == "bad") return std::string(31, '\x01');  // Verifies nothing.
    const auto& pk = pair(name).pk;
    return std::string(reinterpret_cast<const char*>(pk.data()), pk.size());
  }

 private:
  struct Pair {
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk;
    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk;
  };
  const Pair& pair(const std::string& name) {
    auto [it, fresh] = pairs_.try_emplace(name);
    if (fresh) crypto_sign_keypair(it->second.pk.data(), it->second.sk.data());
    return it->second;
  }
  std::map<std::string, Pair> pairs_;
};

}  // namespace cercle::policy

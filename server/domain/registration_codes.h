// RegistrationCodes: the single-use codes with which the instance admin lets people register,
// known by the SHA-256 of their canonical form (only the hash is stored). Owns the codes in memory
// and their records; every change is staged in a Change, so memory and disk move together. Part
// of Identity. Lives on the domain's thread; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "server/common/result.h"
#include "server/domain/change.h"
#include "server/storage/store.h"

namespace cercle::domain {

class RegistrationCodes {
 public:
  explicit RegistrationCodes(const storage::Store& store) : store_(store) {}

  // Reads every stored code; call once at start-up. Errors: kInternal (a read failed).
  [[nodiscard]] Status load();

  // Whether the code with this hash exists, is unused and has not expired at `now_ms`.
  bool usable(const std::string& hash, int64_t now_ms) const;
  // Whether the code with this hash exists and is unused (expired or not).
  bool unused(const std::string& hash) const;
  // How many codes are unused and unexpired at `now_ms`.
  size_t unused_count(int64_t now_ms) const;

  // Stages a new code.
  void add(Change& change, const std::string& hash, int64_t created_ms, int64_t expires_ms);
  // Stages marking a known code used. A hash no code has is ignored.
  void mark_used(Change& change, const std::string& hash);

 private:
  struct Code {
    int64_t expires_ms = 0;
    int64_t created_ms = 0;
    bool used = false;
  };
  void put(Change& change, const std::string& hash, Code code);

  const storage::Store& store_;
  std::unordered_map<std::string, Code> codes_;  // SHA-256 of the code -> code.
};

}  // namespace cercle::domain

#include "server/domain/registration_codes.h"

#include <algorithm>

namespace cercle::domain {

Status RegistrationCodes::load() {
  return store_.scan_registration_codes(
      [&](std::string_view hash, const storage::RegistrationCodeRecord& r) {
        codes_[std::string(hash)] = Code{r.expires_ms(), r.created_ms(), r.used()};
      });
}

bool RegistrationCodes::usable(const std::string& hash, int64_t now_ms) const {
  auto it = codes_.find(hash);
  return it != codes_.end() && !it->second.used && it->second.expires_ms > now_ms;
}

bool RegistrationCodes::unused(const std::string& hash) const {
  auto it = codes_.find(hash);
  return it != codes_.end() && !it->second.used;
}

size_t RegistrationCodes::unused_count(int64_t now_ms) const {
  return static_cast<size_t>(std::count_if(codes_.begin(), codes_.end(), [&](const auto& kv) {
    return !kv.second.used && kv.second.expires_ms > now_ms;
  }));
}

void RegistrationCodes::add(Change& change, const std::string& hash, int64_t created_ms,
                            int64_t expires_ms) {
  put(change, hash, Code{expires_ms, created_ms, false});
}

void RegistrationCodes::mark_used(Change& change, const std::string& hash) {
  auto it = codes_.find(hash);
  if (it == codes_.end()) return;
  Code code = it->second;
  code.used = true;
  put(change, hash, code);
}

void RegistrationCodes::put(Change& change, const std::string& hash, Code code) {
  storage::RegistrationCodeRecord r;
  r.set_created_ms(code.created_ms);
  r.set_expires_ms(code.expires_ms);
  r.set_used(code.used);
  change.batch().put_registration_code(hash, r);
  change.on_commit([this, hash, code] { codes_.insert_or_assign(hash, code); });
}

}  // namespace cercle::domain

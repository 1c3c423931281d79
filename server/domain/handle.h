// Handle rules: the pseudonym that names an account on an instance.
//
// A handle is 3 to 32 characters after Unicode NFC normalisation: letters, digits and combining
// marks of any script, plus "_", "-" and "."; it starts with a letter or a digit, does not end with
// "_", "-" or ".", and has no two of those in a row. Two handles are the same when they look alike:
// the uniqueness key is the Unicode confusable skeleton (UTS #39) of the NFKC case-folded handle,
// so "Alice", "alice", "ＡＬＩＣＥ" and "аlice" (Cyrillic а) are one handle. Pure functions; safe
// on any thread.
#pragma once

#include <string>
#include <string_view>

#include "server/common/result.h"

namespace cercle::domain {

inline constexpr size_t kMinHandleChars = 3;
inline constexpr size_t kMaxHandleChars = 32;

struct Handle {
  std::string display;  // NFC, as chosen: shown to others.
  std::string key;      // Uniqueness key (UTF-8 skeleton). Never shown.
};

// Returns the normalised handle and its key. Errors: kInvalidHandle with a message naming the rule.
[[nodiscard]] Result<Handle> normalize_handle(std::string_view utf8);

}  // namespace cercle::domain

// The MLS library's errors and its Result<T> (cercle::base::Result over Error). Every fallible
// function returns one; no exception leaves the library and no input makes it abort.
// Thread-safety: plain value type, thread-compatible.
#pragma once

#include <string>
#include <utility>

#include "cercle/base/result.h"

namespace cercle::mls {

enum class Errc {
  kDecode,       // malformed, truncated, overlong or trailing bytes
  kInvalid,      // well-formed but violates an RFC 9420 rule
  kCrypto,       // a primitive failed (bad key, AEAD open failure)
  kVerify,       // signature, MAC, tag or hash mismatch
  kWrongEpoch,   // message for another epoch or group
  kNotFound,     // referenced object (proposal, PSK, key package) unknown
  kUnsupported,  // a feature this library does not implement
  kLimit,        // generation or size limit exceeded, replay
};

struct Error {
  Errc code = Errc::kInvalid;
  std::string message;
};

const char* errc_name(Errc code);

template <typename T>
using Result = base::Result<T, Error>;
using Status = Result<void>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace cercle::mls

#define CERCLE_MLS_CONCAT_(a, b) a##b
#define CERCLE_MLS_CONCAT(a, b) CERCLE_MLS_CONCAT_(a, b)

// Evaluates a Result expression; on error returns the error from the enclosing function,
// otherwise binds the value to `lhs` (a declaration such as `auto x`).
#define MLS_TRY(lhs, expr) MLS_TRY_IMPL_(CERCLE_MLS_CONCAT(mls_try_, __LINE__), lhs, expr)
#define MLS_TRY_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                  \
  if (!tmp.ok()) return tmp.error();  \
  lhs = std::move(tmp).value()

// Evaluates a Status expression and returns its error from the enclosing function.
#define MLS_CHECK(expr)                                     \
  do {                                                      \
    auto CERCLE_MLS_CONCAT(mls_chk_, __LINE__) = (expr);    \
    if (!CERCLE_MLS_CONCAT(mls_chk_, __LINE__).ok())        \
      return CERCLE_MLS_CONCAT(mls_chk_, __LINE__).error(); \
  } while (0)

// Returns an error from the enclosing function unless `cond` holds.
#define MLS_ENSURE(cond, code, msg)                           \
  do {                                                        \
    if (!(cond)) return ::cercle::mls::make_error(code, msg); \
  } while (0)

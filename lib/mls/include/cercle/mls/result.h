// Result<T>: the error-as-value type of the MLS library. Every fallible function returns one;
// no exception leaves the library and no input makes it abort.
// Thread-safety: plain value type, thread-compatible.
#pragma once

#include <string>
#include <utility>
#include <variant>

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
  Errc code;
  std::string message;
};

const char* errc_name(Errc code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{Errc::kInvalid, {}};
  bool ok_ = true;
};

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

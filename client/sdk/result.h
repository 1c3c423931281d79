// Result<T> and error codes of the client SDK. Errors the server sent keep its wire code
// (cercle.v1.ErrorCode) in `server_code`. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace cercle::client {

enum class Errc {
  kBadPassphrase = 1,  // The local store does not open with this passphrase.
  kStorage,            // Reading or writing the local store failed.
  kNetwork,            // Cannot connect, connection lost, or no answer in time.
  kServer,             // The server refused the request: see server_code and message.
  kProtocol,           // The server sent something that breaks the protocol or MLS.
  kNotRegistered,      // This store holds no account yet.
  kNotFound,           // No such conversation, account or member.
  kInvalidArgument,    // The caller passed something unusable.
  kRefused,            // MLS refused a message (not for us, forged, out of order).
};

struct Error {
  Errc code = Errc::kProtocol;
  std::string message;
  int server_code = 0;  // cercle.v1.ErrorCode when code == kServer.
  uint64_t current_epoch = 0;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

struct Ok {};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<Ok>;

}  // namespace cercle::client

// Error codes of the client SDK and its Result<T> (cercle::base::Result over Error). Errors the server sent keep its wire code
// (cercle.v1.ErrorCode) in `server_code`. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "cercle/base/result.h"

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

using Ok = base::Ok;
template <class T>
using Result = base::Result<T, Error>;
using Status = Result<Ok>;

}  // namespace cercle::client

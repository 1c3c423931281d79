// The relay's errors, and its Result<T> (cercle::base::Result over Error). Errors carry a
// code that maps one-to-one to the wire protocol's ErrorCode, so a domain failure reaches the
// client typed. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "cercle/base/result.h"

namespace cercle {

// Numbering mirrors cercle.v1.ErrorCode (proto/cercle.proto); never renumber.
enum class Errc : int {
  kMalformedFrame = 1,
  kUnknownOperation = 2,
  kUnknownField = 3,
  kFrameTooLarge = 4,
  kUnsupportedVersion = 5,
  kHelloRequired = 6,
  kNotAuthenticated = 7,
  kAlreadyAuthenticated = 8,
  kAuthFailed = 9,
  kChallengeUsed = 10,
  kInvalidHandle = 11,
  kHandleTaken = 12,
  kRegistrationCodeRequired = 13,
  kRegistrationCodeInvalid = 14,
  kInvalidArgument = 15,
  kNotFound = 16,
  kForbidden = 17,
  kStaleEpoch = 18,
  kDuplicateKeyPackage = 19,
  kKeyPackageLimit = 20,
  kLimitReached = 21,
  kRateLimited = 22,
  kShuttingDown = 23,
  kInternal = 24,
  kDeviceKeyTaken = 25,
  kChainConflict = 26,  // The account's device chain moved on: read it again.
  kSeanceConflict = 27, // Another séance event came first: read it, sign anew.
};

struct Error {
  Errc code = Errc::kInternal;
  std::string message;          // Readable; never holds content, keys or tokens.
  uint64_t current_epoch = 0;   // kStaleEpoch only.
  uint64_t retry_after_ms = 0;  // kRateLimited, kShuttingDown.
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

using Ok = base::Ok;
template <class T>
using Result = base::Result<T, Error>;
using Status = Result<Ok>;

}  // namespace cercle

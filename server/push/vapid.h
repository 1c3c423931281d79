// VAPID (RFC 8292): the instance's P-256 key, which push services tie each subscription to, and
// the `Authorization: vapid t=<JWT>, k=<key>` header that proves a push comes from this instance.
// The key is made at first start and kept in the data folder; a lost key orphans every
// subscription (each device must subscribe again). Thread-compatible: const methods may run on any
// thread at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "server/common/result.h"
#include "server/push/crypto.h"

namespace cercle::push {

// RFC 8292 section 2: a push service may refuse a token that lives more than 24 hours.
inline constexpr std::chrono::hours kMaxTokenLifetime{24};

// Whether `subject` is a contact a push service accepts: a mailto: or https: URI (printable
// ASCII, no quote or backslash, at most 256 characters).
bool valid_subject(std::string_view subject);

class VapidKey {
 public:
  // Reads `file` (PKCS#8 PEM of a P-256 key) or, when there is none, makes a new key and writes
  // it there atomically with mode 0600. Errors: kInvalidArgument naming the file (unreadable, not
  // a P-256 key, folder missing), kInternal.
  static Result<VapidKey> load_or_create(const std::filesystem::path& file);
  static Result<VapidKey> generate();
  explicit VapidKey(P256Key key) : key_(std::move(key)) {}

  // The 65-byte public point, and its base64url form: the web client's applicationServerKey.
  const std::string& public_key() const { return key_.public_point(); }
  std::string public_key_text() const;

  // The header value for a push to `audience` (the push service's origin, "https://host[:port]"),
  // valid until `expires` (unix seconds). Errors: kInvalidArgument for a bad subject or audience.
  Result<std::string> authorization(std::string_view audience, std::string_view subject,
                                    int64_t expires) const;

  const P256Key& key() const { return key_; }

 private:
  P256Key key_;
};

}  // namespace cercle::push

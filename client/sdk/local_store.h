// LocalStore: the client's state on disk, encrypted with a key derived from the user's passphrase
// (libsodium Argon2id), so that a lost or shared device does not give away keys or history.
//
// Layout of the folder:
//   header            magic, format version, Argon2id salt and limits, and a sealed check value
//   blobs/<name>      one sealed value each, replaced atomically (write, fsync, rename)
//   logs/<name>       append-only sequences of sealed records (history)
// Every value is sealed with XChaCha20-Poly1305 under the derived key, with a random nonce and the
// value's name as associated data, so a file moved under another name does not open.
//
// One LocalStore per folder at a time (a lock file enforces it across processes); not thread-safe.
// Keys are wiped when it is destroyed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/sdk/result.h"

namespace cercle::client {

class LocalStore {
 public:
  // Opens the store in `dir`, creating it (and the folder) if it does not exist.
  // Errors: kBadPassphrase (the passphrase does not open it), kStorage (also: in use elsewhere).
  static Result<std::unique_ptr<LocalStore>> open(const std::string& dir,
                                                  std::string_view passphrase);
  ~LocalStore();
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  // Returns the value named `name`, or nullopt. Errors: kStorage (unreadable or tampered).
  Result<std::optional<std::string>> get(std::string_view name) const;
  // Replaces the value named `name` atomically. Errors: kStorage.
  Status put(std::string_view name, std::string_view value);
  Status remove(std::string_view name);
  // Lists value names starting with `prefix`.
  std::vector<std::string> list(std::string_view prefix) const;

  // Appends a record to the log `name`. Errors: kStorage.
  Status append(std::string_view name, std::string_view record);
  // Returns every record of the log, oldest first. Errors: kStorage.
  Result<std::vector<std::string>> read_log(std::string_view name) const;
  // Rewrites the log with `records` (used to delete messages). Errors: kStorage.
  Status rewrite_log(std::string_view name, const std::vector<std::string>& records);

 private:
  LocalStore(std::string dir, std::string key);
  std::string seal(std::string_view name, std::string_view plaintext) const;
  Result<std::string> open_sealed(std::string_view name, std::string_view sealed) const;

  Status lock();

  std::string dir_;
  std::string key_;  // 32 bytes; wiped in the destructor.
  int lock_fd_ = -1;
};

// File names used for values are derived from their names; names may hold any bytes.
std::string encode_name(std::string_view name);

}  // namespace cercle::client

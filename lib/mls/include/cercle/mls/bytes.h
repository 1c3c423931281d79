// Byte strings for the MLS library: Bytes (owned), BytesView (borrowed), Secret (owned bytes that
// are wiped with sodium_memzero when destroyed or overwritten), hex helpers.
// Thread-safety: value types, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cercle::mls {

using Bytes = std::vector<uint8_t>;
using BytesView = std::span<const uint8_t>;

// Owned secret bytes, wiped on destruction, copy-assignment and move-from.
class Secret {
 public:
  Secret() = default;
  explicit Secret(BytesView data) : data_(data.begin(), data.end()) {}
  explicit Secret(Bytes&& data) : data_(std::move(data)) {}
  Secret(const Secret& other) : data_(other.data_) {}
  Secret(Secret&& other) noexcept : data_(std::move(other.data_)) { other.wipe(); }
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret() { wipe(); }

  BytesView view() const { return data_; }
  const uint8_t* data() const { return data_.data(); }
  uint8_t* data() { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  // Returns a non-secret copy: only for values that must leave the library (exports, vectors).
  Bytes copy_bytes() const { return data_; }
  bool operator==(const Secret& other) const;

 private:
  void wipe();
  Bytes data_;
};

// Returns lowercase hex of `data`.
std::string to_hex(BytesView data);
// Returns the bytes of an even-length hex string, or nullopt on a bad digit or odd length.
std::optional<Bytes> from_hex(std::string_view hex);
// Returns the bytes of a string (labels, identities).
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
// Constant-time equality (sizes compared in the clear).
bool ct_equal(BytesView a, BytesView b);
inline BytesView view(const Bytes& b) { return BytesView(b); }

}  // namespace cercle::mls

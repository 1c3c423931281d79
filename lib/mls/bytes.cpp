#include "cercle/mls/bytes.h"

#include "cercle/base/hex.h"

#include <sodium.h>

namespace cercle::mls {

void Secret::wipe() {
  if (!data_.empty()) sodium_memzero(data_.data(), data_.size());
  data_.clear();
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    wipe();
    data_ = other.data_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    other.wipe();
  }
  return *this;
}

bool Secret::operator==(const Secret& other) const { return ct_equal(data_, other.data_); }

std::string to_hex(BytesView data) { return base::to_hex(data.data(), data.size()); }

std::optional<Bytes> from_hex(std::string_view hex) {
  auto raw = base::from_hex(hex);
  if (!raw) return std::nullopt;
  return Bytes(raw->begin(), raw->end());
}

bool ct_equal(BytesView a, BytesView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cercle::mls

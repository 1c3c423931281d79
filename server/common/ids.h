// Identifiers shared by every server layer. Accounts and devices have random 64-bit ids;
// conversations have random 128-bit ids, so ids reveal neither counts nor creation order. Plain
// values.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "cercle/base/hex.h"

namespace cercle {

using AccountId = uint64_t;
using DeviceId = uint64_t;

struct ConvId {
  std::array<uint8_t, 16> bytes{};

  // Returns the id held in `raw`, or nullopt-like false when `raw` is not exactly 16 bytes.
  static bool parse(std::string_view raw, ConvId& out) {
    if (raw.size() != out.bytes.size()) return false;
    std::memcpy(out.bytes.data(), raw.data(), raw.size());
    return true;
  }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  std::string str() const { return std::string(view()); }
  // The whole id in lowercase hex, as clients show it.
  std::string hex() const { return base::to_hex(bytes.data(), bytes.size()); }
  // Short hex prefix for logs: enough to correlate, not the whole id.
  std::string log_tag() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 4; ++i) {
      out.push_back(kHex[bytes[i] >> 4]);
      out.push_back(kHex[bytes[i] & 15]);
    }
    return out;
  }
  friend bool operator==(const ConvId&, const ConvId&) = default;
  friend auto operator<=>(const ConvId&, const ConvId&) = default;
};

struct ConvIdHash {
  size_t operator()(const ConvId& id) const {
    uint64_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);  // Random ids: the first 8 bytes are a fine hash.
    return static_cast<size_t>(h);
  }
};

}  // namespace cercle

// Key encodings for server/storage: big-endian integers so that RocksDB's byte order is numeric
// order, and fixed-width fields so that keys of one conversation share a 16-byte prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/common/ids.h"

namespace cercle::storage::keys {

inline void append_be(std::string& out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline uint64_t read_be(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

inline std::string u32(uint32_t v) {
  std::string out;
  append_be(out, v, 4);
  return out;
}
inline uint32_t read_u32(std::string_view in) {
  return in.size() == 4 ? static_cast<uint32_t>(read_be(in, 4)) : 0;
}

inline std::string u64(uint64_t v) {
  std::string out;
  append_be(out, v, 8);
  return out;
}
inline uint64_t read_u64(std::string_view in) { return read_be(in, 8); }

inline std::string u64_u64(uint64_t a, uint64_t b) {
  std::string out;
  out.reserve(16);
  append_be(out, a, 8);
  append_be(out, b, 8);
  return out;
}
inline bool parse_u64_u64(std::string_view k, uint64_t& a, uint64_t& b) {
  if (k.size() != 16) return false;
  a = read_be(k, 8);
  b = read_be(k.substr(8), 8);
  return true;
}

inline std::string conv_u64(const ConvId& conv, uint64_t v) {
  std::string out;
  out.reserve(24);
  out.append(conv.view());
  append_be(out, v, 8);
  return out;
}
inline bool parse_conv_u64(std::string_view k, ConvId& conv, uint64_t& v) {
  if (k.size() != 24 || !ConvId::parse(k.substr(0, 16), conv)) return false;
  v = read_be(k.substr(16), 8);
  return true;
}

inline std::string u64_conv(uint64_t v, const ConvId& conv) {
  std::string out;
  out.reserve(24);
  append_be(out, v, 8);
  out.append(conv.view());
  return out;
}
inline bool parse_u64_conv(std::string_view k, uint64_t& v, ConvId& conv) {
  if (k.size() != 24 || !ConvId::parse(k.substr(8), conv)) return false;
  v = read_be(k, 8);
  return true;
}

}  // namespace cercle::storage::keys

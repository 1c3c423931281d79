// The input format of the session target (fuzz_session.cpp), shared with the corpus generator:
//   byte 0        where the actor's connection starts (Start, modulo its count)
//   then ops      [op][length: u16 little-endian][body: length bytes], at most kMaxOps
// op % 8: 0-3 a binary frame (body: an encoded ClientFrame, or anything), 4 a text frame, 5 a
// frame over the size limit (body: its first bytes, the request id as u64 little-endian), 6 the
// transport wrote its queue, 7 the relay's clock moves `length` minutes (no body).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cercle::relay_fuzz {

inline constexpr int kMaxOps = 32;
enum Op : uint8_t { kFrame = 0, kText = 4, kTooLarge = 5, kDrained = 6, kClock = 7 };

inline void append_op(std::string& input, uint8_t op, std::string_view body) {
  input.push_back(static_cast<char>(op));
  input.push_back(static_cast<char>(body.size() & 0xff));
  input.push_back(static_cast<char>((body.size() >> 8) & 0xff));
  if (op % 8 != kClock) input.append(body);
}

}  // namespace cercle::relay_fuzz

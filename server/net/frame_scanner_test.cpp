#include "server/net/frame_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cercle::net {
namespace {

// A client frame (masked) with `payload_size` bytes of payload.
std::string frame(bool fin, uint8_t opcode, size_t payload_size) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload_size < 126) {
    f.push_back(static_cast<char>(0x80 | payload_size));
  } else if (payload_size <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload_size >> 8));
    f.push_back(static_cast<char>(payload_size & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      f.push_back(static_cast<char>((payload_size >> shift) & 0xFF));
  }
  f += std::string("\x12\x34\x56\x78", 4);  // Mask key.
  f += std::string(payload_size, '\xA5');
  return f;
}

struct Step {
  std::string bytes;
  bool clean;         // After these bytes.
  uint64_t messages;  // After these bytes.
};

// A binary message, a ping, a message in three frames (16- and 64-bit lengths) with a pong in the
// middle, an empty message, then a close frame.
std::vector<Step> stream() {
  return {
      {frame(true, 2, 5), true, 1},     {frame(true, 9, 0), false, 1},
      {frame(false, 1, 200), false, 1}, {frame(true, 10, 4), false, 1},
      {frame(false, 0, 0), false, 1},   {frame(true, 0, 70000), true, 2},
      {frame(true, 2, 0), true, 3},     {frame(true, 8, 2), false, 3},
  };
}

void feed(FrameScanner& s, const std::string& bytes) {
  s.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(FrameScanner, NothingReadIsClean) {
  FrameScanner s;
  EXPECT_TRUE(s.clean());
  EXPECT_EQ(s.messages(), 0u);
}

TEST(FrameScanner, CleanOnlyRightAfterAMessagesFinalFrameWhateverTheSlicing) {
  for (size_t slice : {size_t{1}, size_t{3}, size_t{7}, size_t{1536}}) {
    SCOPED_TRACE("slice " + std::to_string(slice));
    FrameScanner s;
    for (const auto& step : stream()) {
      for (size_t at = 0; at < step.bytes.size(); at += slice) {
        const size_t n = std::min(slice, step.bytes.size() - at);
        feed(s, step.bytes.substr(at, n));
        if (at + n < step.bytes.size()) {
          EXPECT_FALSE(s.clean()) << "inside a frame, at byte " << at + n;
        }
      }
      EXPECT_EQ(s.clean(), step.clean);
      EXPECT_EQ(s.messages(), step.messages);
    }
  }
}

TEST(FrameScanner, BytesOfTheNextFrameInTheSameReadAreNotClean) {
  FrameScanner s;
  feed(s, frame(true, 2, 10) + frame(true, 2, 10).substr(0, 1));
  EXPECT_FALSE(s.clean());
  EXPECT_EQ(s.messages(), 1u);
  feed(s, frame(true, 2, 10).substr(1));
  EXPECT_TRUE(s.clean());
  EXPECT_EQ(s.messages(), 2u);
}

}  // namespace
}  // namespace cercle::net

// FrameScanner: follows the frame boundaries of the byte stream a client sends on a WebSocket
// (RFC 6455, section 5.2), reading only frame headers: no payload is kept or unmasked, and nothing
// is validated (the WebSocket library does that). The connection feeds it every byte the library
// reads from the socket, so that it knows when the library holds nothing unread: the bytes read so
// far end exactly with the final frame of a message the library has delivered. Only then may an
// idle connection wait for the socket to become readable instead of keeping a read pending.
//
// Pure; lives on its connection's thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace cercle::net {

class FrameScanner {
 public:
  // The next `n` bytes read from the socket.
  void feed(const uint8_t* data, size_t n) {
    while (n > 0) {
      if (payload_left_ > 0) {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, n));
        payload_left_ -= take;
        data += take;
        n -= take;
        if (payload_left_ == 0) end_frame();
        continue;
      }
      clean_ = false;  // Part of a frame header.
      if (head_len_ < kLengthBytes) head_[head_len_] = *data;
      ++head_len_;
      ++data;
      --n;
      if (head_len_ < header_size()) continue;
      final_data_ = (head_[0] & 0x80) != 0 && (head_[0] & 0x0F) < 8;  // FIN, and not control.
      payload_left_ = payload_length();
      head_len_ = 0;
      if (payload_left_ == 0) end_frame();
    }
  }

  // Messages whose final frame was read whole.
  uint64_t messages() const { return messages_; }

  // Whether the bytes read so far end exactly with the final frame of a message (or nothing was
  // read yet): no byte of a later frame, control frames included, was read.
  bool clean() const { return clean_; }

 private:
  // A header's bytes up to the end of its extended payload length; the mask key that may follow
  // is only counted.
  static constexpr size_t kLengthBytes = 10;

  size_t header_size() const {
    if (head_len_ < 2) return 2;
    const uint8_t len7 = head_[1] & 0x7F;
    const size_t extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    const size_t mask = (head_[1] & 0x80) != 0 ? 4 : 0;
    return 2 + extended + mask;
  }

  uint64_t payload_length() const {
    const uint8_t len7 = head_[1] & 0x7F;
    if (len7 < 126) return len7;
    const size_t bytes = len7 == 126 ? 2 : 8;
    uint64_t length = 0;
    for (size_t i = 0; i < bytes; ++i) length = (length << 8) | head_[2 + i];
    return length;
  }

  void end_frame() {
    clean_ = final_data_;
    if (final_data_) ++messages_;
  }

  uint64_t payload_left_ = 0;
  uint64_t messages_ = 0;
  uint8_t head_[kLengthBytes] = {};
  uint8_t head_len_ = 0;
  bool final_data_ = false;
  bool clean_ = true;
};

}  // namespace cercle::net

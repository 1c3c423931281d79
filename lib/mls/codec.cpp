#include "cercle/mls/codec.h"

namespace cercle::mls {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kDecode:
      return "decode";
    case Errc::kInvalid:
      return "invalid";
    case Errc::kCrypto:
      return "crypto";
    case Errc::kVerify:
      return "verify";
    case Errc::kWrongEpoch:
      return "wrong_epoch";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kLimit:
      return "limit";
  }
  return "unknown";
}

void Writer::u16(uint16_t v) {
  u8(static_cast<uint8_t>(v >> 8));
  u8(static_cast<uint8_t>(v));
}
void Writer::u32(uint32_t v) {
  u16(static_cast<uint16_t>(v >> 16));
  u16(static_cast<uint16_t>(v));
}
void Writer::u64(uint64_t v) {
  u32(static_cast<uint32_t>(v >> 32));
  u32(static_cast<uint32_t>(v));
}

void Writer::varint(uint64_t v) {
  // Callers never produce vectors near 2^30 bytes; clamp defensively rather than abort.
  if (v > kMaxVarint) v = kMaxVarint;
  if (v < 64) {
    u8(static_cast<uint8_t>(v));
  } else if (v < 16384) {
    u16(static_cast<uint16_t>(0x4000 | v));
  } else {
    u32(static_cast<uint32_t>(0x80000000u | v));
  }
}

void Writer::opaque(BytesView data) {
  varint(data.size());
  raw(data);
}

void Reader::fail() {
  *failed_ = true;
  pos_ = data_.size();
}

bool Reader::take(size_t n) {
  if (!ok() || n > data_.size() - pos_) {
    fail();
    return false;
  }
  return true;
}

uint8_t Reader::u8() {
  if (!take(1)) return 0;
  return data_[pos_++];
}
uint16_t Reader::u16() {
  uint16_t hi = u8();
  return static_cast<uint16_t>(hi << 8 | u8());
}
uint32_t Reader::u32() {
  uint32_t hi = u16();
  return hi << 16 | u16();
}
uint64_t Reader::u64() {
  uint64_t hi = u32();
  return hi << 32 | u32();
}

BytesView Reader::raw(size_t n) {
  if (!take(n)) return {};
  BytesView out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

uint64_t Reader::varint() {
  if (!take(1)) return 0;
  uint8_t first = data_[pos_];
  uint8_t prefix = first >> 6;
  if (prefix == 3) {
    fail();
    return 0;
  }
  size_t len = size_t{1} << prefix;
  BytesView b = raw(len);
  if (!ok()) return 0;
  uint64_t v = b[0] & 0x3f;
  for (size_t i = 1; i < len; ++i) v = v << 8 | b[i];
  // RFC 9420 2.1.2: a value encoded on more bytes than needed is malformed.
  if ((len == 2 && v < 64) || (len == 4 && v < 16384)) {
    fail();
    return 0;
  }
  return v;
}

Bytes Reader::opaque() {
  uint64_t len = varint();
  BytesView b = raw(static_cast<size_t>(len));
  return Bytes(b.begin(), b.end());
}

Reader Reader::vector() {
  uint64_t len = varint();
  BytesView b = raw(static_cast<size_t>(len));
  return Reader(b, failed_);
}

bool Reader::presence() {
  uint8_t p = u8();
  if (p > 1) fail();
  return p == 1;
}

}  // namespace cercle::mls

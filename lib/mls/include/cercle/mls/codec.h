// TLS presentation-language codec of RFC 9420 (section 2.1): fixed-width big-endian integers,
// variable-length vector headers (1, 2 or 4 bytes, minimal encoding), optionals.
// Reader never reads past its bounds: a failed read marks the reader (and every reader it was
// split from) as failed and yields zero values, so decoders check ok() once at the end.
// Thread-safety: Reader and Writer are single-use local objects, not shared.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "cercle/mls/bytes.h"
#include "cercle/mls/result.h"

namespace cercle::mls {

// Largest vector length the varint header can express (2^30 - 1).
inline constexpr uint64_t kMaxVarint = (1u << 30) - 1;

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void raw(BytesView data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void varint(uint64_t v);
  // opaque data<V>.
  void opaque(BytesView data);
  // A vector<V> whose body is written by `body(Writer&)`.
  template <typename F>
  void vec(F&& body) {
    Writer inner;
    body(inner);
    opaque(inner.out_);
  }
  template <typename T>
  void list(const std::vector<T>& items) {
    vec([&](Writer& w) {
      for (const auto& item : items) item.encode(w);
    });
  }
  template <typename T>
  void optional(const std::optional<T>& item) {
    u8(item ? 1 : 0);
    if (item) item->encode(*this);
  }
  const Bytes& bytes() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(BytesView data) : data_(data), failed_(&own_failed_) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  BytesView raw(size_t n);
  // Returns the varint, or 0 and fails on prefix 11 or a non-minimal encoding.
  uint64_t varint();
  // Reads opaque data<V>.
  Bytes opaque();
  // Reads a vector<V> header and returns a reader over its body; this reader skips it.
  Reader vector();
  // Reads an optional presence octet (0 or 1; anything else fails).
  bool presence();
  template <typename T>
  std::vector<T> list() {
    Reader sub = vector();
    std::vector<T> out;
    while (sub.more()) {
      size_t before = sub.pos_;
      out.push_back(T::decode(sub));
      if (sub.pos_ == before) sub.fail();
    }
    return out;
  }
  template <typename T>
  std::optional<T> optional() {
    if (!presence()) return std::nullopt;
    return T::decode(*this);
  }
  void fail();
  bool ok() const { return !*failed_; }
  bool more() const { return ok() && pos_ < data_.size(); }
  bool at_end() const { return pos_ == data_.size(); }
  size_t remaining() const { return ok() ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  BytesView all() const { return data_; }

 private:
  Reader(BytesView data, bool* failed) : data_(data), failed_(failed) {}
  bool take(size_t n);

  BytesView data_;
  size_t pos_ = 0;
  bool own_failed_ = false;
  bool* failed_;
};

// GCC 12 reports -Wmaybe-uninitialized false positives when large std::variant values move
// into Result; every alternative here is fully constructed by T::decode.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Decodes a whole buffer with `T::decode`: fails on short, malformed or trailing data.
template <typename T>
Result<T> decode_exact(BytesView data) {
  Reader r(data);
  T value = T::decode(r);
  if (!r.ok()) return make_error(Errc::kDecode, "malformed or truncated encoding");
  if (!r.at_end()) return make_error(Errc::kDecode, "trailing bytes");
  return value;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

template <typename T>
Bytes encode(const T& value) {
  Writer w;
  value.encode(w);
  return w.take();
}

// Bytes as a codec element (opaque<V>) for use in list<T>/optional<T>.
struct Opaque {
  Bytes data;
  void encode(Writer& w) const { w.opaque(data); }
  static Opaque decode(Reader& r) { return Opaque{r.opaque()}; }
  bool operator==(const Opaque&) const = default;
};

}  // namespace cercle::mls

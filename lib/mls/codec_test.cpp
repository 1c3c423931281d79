// Codec strictness: varint minimality, bounds, trailing bytes, optionals.
#include "cercle/mls/codec.h"

#include <gtest/gtest.h>

#include "cercle/mls/messages.h"

namespace cercle::mls {
namespace {

TEST(Codec, VarintRoundTripAndMinimal) {
  for (uint64_t v : std::vector<uint64_t>{0, 63, 64, 16383, 16384, kMaxVarint}) {
    Writer w;
    w.varint(v);
    Reader r(w.bytes());
    EXPECT_EQ(r.varint(), v);
    EXPECT_TRUE(r.ok() && r.at_end());
  }
  const Bytes non_minimal = {0x40, 0x25};
  Reader r1(non_minimal);
  r1.varint();
  EXPECT_FALSE(r1.ok());
  const Bytes prefix11 = {0xc0, 0, 0, 0, 0, 0, 0, 1};
  Reader r2(prefix11);
  r2.varint();
  EXPECT_FALSE(r2.ok());
}

TEST(Codec, VectorOverreadFails) {
  const Bytes data = {0x05, 1, 2, 3};
  Reader r(data);
  Bytes got = r.opaque();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(got.empty());
}

TEST(Codec, NestedFailurePropagates) {
  // A list of Uint16 whose body has an odd length: the inner failure must mark the outer reader.
  const Bytes data = {0x03, 0, 1, 2};
  Reader r(data);
  auto items = r.list<Uint16>();
  EXPECT_FALSE(r.ok());
}

TEST(Codec, DecodeExactRejectsTrailingAndTruncated) {
  Extension e{7, {1, 2, 3}};
  Bytes enc = encode(e);
  EXPECT_TRUE(decode_exact<Extension>(enc).ok());
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_EQ(decode_exact<Extension>(trailing).error().code, Errc::kDecode);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(decode_exact<Extension>(BytesView(enc.data(), n)).ok()) << n;
  }
}

TEST(Codec, OptionalPresenceMustBeZeroOrOne) {
  const Bytes bad = {0x02};
  Reader r(bad);
  r.presence();
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace cercle::mls

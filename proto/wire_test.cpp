#include "proto/wire.h"

#include <gtest/gtest.h>

namespace cercle::wire {
namespace {

TEST(AuthTranscript, LaysOutLabelLengthsAndVersion) {
  const std::string t = auth_transcript("inst", "nonce!", 1);
  const std::string expected = std::string("cercle-auth-v1") + '\0' + '\x04' + "inst" + '\x06' +
                               "nonce!" + std::string("\0\0\0\x01", 4);
  EXPECT_EQ(t, expected);
}

TEST(AuthTranscript, DiffersWhenAnyInputDiffers) {
  const std::string base = auth_transcript("a", "b", 1);
  EXPECT_NE(base, auth_transcript("ab", "", 1));  // Length prefixes keep fields apart.
  EXPECT_NE(base, auth_transcript("a", "c", 1));
  EXPECT_NE(base, auth_transcript("a", "b", 2));
}

TEST(UnknownFields, NoneInAFrameBuiltFromTheSchema) {
  v1::ClientFrame frame;
  frame.set_request_id(7);
  frame.mutable_send()->set_payload("x");
  v1::ClientFrame parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame.SerializeAsString()));
  EXPECT_EQ(first_unknown_field(parsed), "");
}

TEST(UnknownFields, FoundAtTopLevelAndNested) {
  // Field 9999, varint 1, at the top level.
  std::string top = v1::ClientFrame().SerializeAsString() + std::string("\xF8\xF0\x04\x01", 4);
  v1::ClientFrame parsed;
  ASSERT_TRUE(parsed.ParseFromString(top));
  EXPECT_EQ(first_unknown_field(parsed), "cercle.v1.ClientFrame#9999");

  // A Send (field 32, length-delimited) whose body holds unknown field 42 (varint 5).
  const std::string inner("\xD0\x02\x05", 3);
  std::string nested = std::string("\x82\x02", 2) + static_cast<char>(inner.size()) + inner;
  ASSERT_TRUE(parsed.ParseFromString(nested));
  ASSERT_TRUE(parsed.has_send());
  EXPECT_EQ(first_unknown_field(parsed), "cercle.v1.Send#42");
}

TEST(DeliveryBatch, ConcatenatedFramesParseAsOneBatch) {
  std::string joined;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    v1::ServerFrame frame;
    frame.mutable_deliveries()->add_deliveries()->set_seq(seq);
    joined += frame.SerializeAsString();
  }
  v1::ServerFrame parsed;
  ASSERT_TRUE(parsed.ParseFromString(joined));
  ASSERT_EQ(parsed.deliveries().deliveries_size(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parsed.deliveries().deliveries(i).seq(), uint64_t(i + 1));
}

}  // namespace
}  // namespace cercle::wire

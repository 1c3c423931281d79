#include "server/push/base64url.h"

#include <gtest/gtest.h>

namespace cercle::push {
namespace {

TEST(Base64Url, EncodesWithoutPaddingInTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64Url, DecodesWhatItEncodesAndToleratesPadding) {
  const std::string all = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
    return s;
  }();
  for (size_t n = 0; n < 8; ++n) {
    const std::string part = all.substr(100, n);
    EXPECT_EQ(base64url_decode(base64url_encode(part)), part) << n;
  }
  EXPECT_EQ(base64url_decode(base64url_encode(all)), all);
  EXPECT_EQ(base64url_decode("Zg=="), "f");
  EXPECT_EQ(base64url_decode("Zm8="), "fo");
}

TEST(Base64Url, RefusesOtherAlphabetsImpossibleLengthsAndStrayBits) {
  EXPECT_FALSE(base64url_decode("+/+/"));  // The standard alphabet's 62 and 63.
  EXPECT_FALSE(base64url_decode("Zm9v!"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));  // 5 characters: 30 bits cannot end a byte.
  EXPECT_FALSE(base64url_decode("Zh"));     // "Zg" with a leftover bit set.
}

}  // namespace
}  // namespace cercle::push

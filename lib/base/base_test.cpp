#include <gtest/gtest.h>

#include <string>

#include "cercle/base/hex.h"
#include "cercle/base/result.h"

namespace cercle::base {
namespace {

enum class TestErrc { kFirst = 1, kSecond };
struct TestError {
  TestErrc code = TestErrc::kFirst;
  std::string message;
};

Result<int, TestError> half(int n) {
  if (n % 2 != 0) return TestError{TestErrc::kSecond, "odd"};
  return n / 2;
}

TEST(ResultTest, HoldsTheValueOrTheTypedError) {
  auto even = half(8);
  ASSERT_TRUE(even.ok());
  EXPECT_EQ(*even, 4);
  auto odd = half(7);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code, TestErrc::kSecond);
  EXPECT_EQ(odd.error().message, "odd");
}

TEST(ResultTest, MovesItsValueAndErrorOut) {
  Result<std::string, TestError> text(std::string(100, 'x'));
  const std::string taken = std::move(text).value();
  EXPECT_EQ(taken.size(), 100u);
  Result<std::string, TestError> refused(TestError{TestErrc::kFirst, "no"});
  const TestError error = std::move(refused).error();
  EXPECT_EQ(error.message, "no");
}

TEST(ResultTest, VoidResultIsOkByDefaultAndCarriesAnError) {
  Result<void, TestError> fine;
  EXPECT_TRUE(fine.ok());
  Result<void, TestError> failed(TestError{TestErrc::kSecond, "x"});
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, TestErrc::kSecond);
}

TEST(HexTest, EncodesLowerCaseAndDecodesEitherCase) {
  EXPECT_EQ(to_hex(std::string_view("\x00\x7f\xab\xff", 4)), "007fabff");
  EXPECT_EQ(from_hex("007FabfF"), std::string("\x00\x7f\xab\xff", 4));
  EXPECT_EQ(from_hex(""), std::string());
}

TEST(HexTest, RefusesOddLengthsAndNonDigits) {
  EXPECT_EQ(from_hex("abc"), std::nullopt);
  EXPECT_EQ(from_hex("zz"), std::nullopt);
  EXPECT_EQ(from_hex("0g"), std::nullopt);
}

}  // namespace
}  // namespace cercle::base

#include "server/domain/handle.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <memory>
#include <vector>

namespace cercle::domain {

namespace {

using U16 = std::vector<UChar>;

Error invalid(std::string message) { return make_error(Errc::kInvalidHandle, std::move(message)); }

bool to_utf16(std::string_view utf8, U16& out) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t len = 0;
  u_strFromUTF8(nullptr, 0, &len, utf8.data(), static_cast<int32_t>(utf8.size()), &err);
  if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) return false;
  err = U_ZERO_ERROR;
  out.resize(static_cast<size_t>(len));
  u_strFromUTF8(out.data(), len, nullptr, utf8.data(), static_cast<int32_t>(utf8.size()), &err);
  return U_SUCCESS(err);
}

std::string to_utf8(const U16& in) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t len = 0;
  u_strToUTF8(nullptr, 0, &len, in.data(), static_cast<int32_t>(in.size()), &err);
  std::string out(static_cast<size_t>(len), '\0');
  err = U_ZERO_ERROR;
  u_strToUTF8(out.data(), len, nullptr, in.data(), static_cast<int32_t>(in.size()), &err);
  return U_SUCCESS(err) ? out : std::string();
}

bool normalize(const UNormalizer2* n, const U16& in, U16& out) {
  UErrorCode err = U_ZERO_ERROR;
  const auto len = static_cast<int32_t>(in.size());
  out.resize(in.size() * 3 + 8);
  int32_t got =
      unorm2_normalize(n, in.data(), len, out.data(), static_cast<int32_t>(out.size()), &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    err = U_ZERO_ERROR;
    out.resize(static_cast<size_t>(got));
    got = unorm2_normalize(n, in.data(), len, out.data(), got, &err);
  }
  if (U_FAILURE(err)) return false;
  out.resize(static_cast<size_t>(got));
  return true;
}

bool skeleton(const U16& in, U16& out) {
  struct Closer {
    void operator()(USpoofChecker* c) const { uspoof_close(c); }
  };
  static const std::unique_ptr<USpoofChecker, Closer> checker = [] {
    UErrorCode err = U_ZERO_ERROR;
    return std::unique_ptr<USpoofChecker, Closer>(uspoof_open(&err));
  }();
  if (!checker) return false;
  UErrorCode err = U_ZERO_ERROR;
  out.resize(in.size() * 4 + 8);
  int32_t got = uspoof_getSkeleton(checker.get(), 0, in.data(), static_cast<int32_t>(in.size()),
                                   out.data(), static_cast<int32_t>(out.size()), &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    err = U_ZERO_ERROR;
    out.resize(static_cast<size_t>(got));
    got = uspoof_getSkeleton(checker.get(), 0, in.data(), static_cast<int32_t>(in.size()),
                             out.data(), got, &err);
  }
  if (U_FAILURE(err)) return false;
  out.resize(static_cast<size_t>(got));
  return true;
}

bool is_separator(UChar32 c) { return c == '_' || c == '-' || c == '.'; }

// Checks the character rules on an NFC string; returns an empty message when they hold.
std::string check_characters(const U16& nfc) {
  size_t count = 0;
  UChar32 previous = 0;
  for (int32_t i = 0; i < static_cast<int32_t>(nfc.size());) {
    UChar32 c;
    U16_NEXT(nfc.data(), i, static_cast<int32_t>(nfc.size()), c);
    const uint32_t gc = U_GET_GC_MASK(c);
    const bool letter_or_digit = (gc & (U_GC_L_MASK | U_GC_ND_MASK)) != 0;
    const bool mark = (gc & U_GC_M_MASK) != 0;
    if (!letter_or_digit && !mark && !is_separator(c)) {
      return c == ' ' ? "spaces are not allowed"
                      : "only letters, digits, \"_\", \"-\" and \".\" are allowed";
    }
    if (count == 0 && !letter_or_digit) return "must start with a letter or a digit";
    if (is_separator(c) && is_separator(previous)) {
      return "\"_\", \"-\" and \".\" cannot follow each other";
    }
    previous = c;
    ++count;
  }
  if (count < kMinHandleChars) return "must have at least 3 characters";
  if (count > kMaxHandleChars) return "must have at most 32 characters";
  if (is_separator(previous)) return "must not end with \"_\", \"-\" or \".\"";
  return {};
}

}  // namespace

Result<Handle> normalize_handle(std::string_view utf8) {
  if (utf8.empty()) return invalid("the handle is empty");
  if (utf8.size() > kMaxHandleChars * 4 * 2) return invalid("must have at most 32 characters");
  U16 input;
  if (!to_utf16(utf8, input)) return invalid("the handle is not valid UTF-8");
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfc_n = unorm2_getNFCInstance(&err);
  const UNormalizer2* fold_n = unorm2_getNFKCCasefoldInstance(&err);
  if (U_FAILURE(err)) return make_error(Errc::kInternal, "Unicode data unavailable");
  U16 nfc, folded, skel;
  if (!normalize(nfc_n, input, nfc)) return invalid("the handle cannot be normalised");
  if (auto why = check_characters(nfc); !why.empty()) return invalid("handle " + why);
  if (!normalize(fold_n, nfc, folded) || !skeleton(folded, skel)) {
    return make_error(Errc::kInternal, "cannot compute the handle key");
  }
  return Handle{to_utf8(nfc), to_utf8(skel)};
}

}  // namespace cercle::domain

// libFuzzer target: the relay's request handling. Whole client frames go through the protocol
// session (server/api/session.h) of a relay with a real store in a temporary folder, starting from
// the seeded world (world.h): before hello, after hello, or authenticated as one of its devices.
// The input format is in session_input.h; what is checked after each frame, in harness.h.
#include <algorithm>

#include "server/fuzz/harness.h"
#include "server/fuzz/session_input.h"

using namespace cercle::relay_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Harness h(static_cast<Start>(data[0] % static_cast<int>(Start::kCount)));
  size_t pos = 1;
  for (int n = 0; n < kMaxOps && pos < size; ++n) {
    const uint8_t op = data[pos++];
    size_t len = 0;
    if (pos + 2 <= size) len = data[pos] | (size_t{data[pos + 1]} << 8);
    pos = std::min(pos + 2, size);
    if (op % 8 == kClock) {
      h.advance_clock_ms(static_cast<int64_t>(len) * 60'000);
      continue;
    }
    len = std::min(len, size - pos);
    const std::string_view body(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    switch (op % 8) {
      case kText:
        h.text_frame(body);
        break;
      case kTooLarge: {
        uint64_t id = 0;
        for (size_t i = 0; i < std::min<size_t>(8, len); ++i)
          id |= uint64_t{data[pos - len + i]} << (8 * i);
        h.frame_too_large(id);
        break;
      }
      case kDrained:
        h.drained();
        break;
      default:
        h.frame(body);
    }
  }
  h.finish();
  return 0;
}

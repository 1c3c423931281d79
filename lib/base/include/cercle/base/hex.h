// Lower-case hexadecimal, the one encoding every layer uses to show ids, keys' fingerprints and
// test vectors. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cercle::base {

// Returns the lower-case hex of `size` bytes at `data` (two characters per byte).
std::string to_hex(const uint8_t* data, size_t size);
inline std::string to_hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// Returns the bytes `hex` spells (either case), or nothing when its length is odd or it holds a
// character that is not a hex digit.
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace cercle::base

// Structured logs, one logfmt line per event on stderr: `ts=... level=info event=conn.open k=v
// ...`. Callers pass only metadata (ids, counts, codes): never message content, keys, tokens or
// handles of people in combination with content. Safe on any thread; each line is written with one
// call.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace cercle::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <class N>
  requires std::is_integral_v<N> && std::is_signed_v<N> Field(std::string_view k, N v)
      : key(k), value(static_cast<int64_t>(v)) {}
  template <class N>
  requires std::is_integral_v<N> && std::is_unsigned_v<N> Field(std::string_view k, N v)
      : key(k), value(static_cast<uint64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}

  std::string_view key;
  std::variant<std::string, int64_t, uint64_t, double> value;
};

// Sets the lowest level written; the default is kInfo. Returns false for an unknown name.
bool set_level(std::string_view name);
bool enabled(Level level);

void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, e, f);
}
inline void info(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::kInfo, e, f);
}
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::kWarn, e, f);
}
inline void error(std::string_view e, std::initializer_list<Field> f = {}) {
  write(Level::kError, e, f);
}

}  // namespace cercle::log

#include "server/common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace cercle::log {

namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

void append_value(std::string& out, std::string_view v) {
  const bool quote = v.empty() || v.find_first_of(" =\"\\\n\t") != std::string_view::npos;
  if (!quote) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
}

void append_timestamp(std::string& out) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(millis));
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

bool set_level(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kLevelNames[i] == name) {
      g_level.store(i);
      return true;
    }
  }
  return false;
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(128);
  line.append("ts=");
  append_timestamp(line);
  line.append(" level=");
  line.append(kLevelNames[static_cast<int>(level)]);
  line.append(" event=");
  append_value(line, event);
  for (const Field& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      append_value(line, *s);
    } else if (const auto* i = std::get_if<int64_t>(&f.value)) {
      line.append(std::to_string(*i));
    } else if (const auto* u = std::get_if<uint64_t>(&f.value)) {
      line.append(std::to_string(*u));
    } else {
      line.append(std::to_string(std::get<double>(f.value)));
    }
  }
  line.push_back('\n');
  // One write(2) per line keeps lines whole when several threads log.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace cercle::log

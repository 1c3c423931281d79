#include "server/net/static_files.h"

#include <boost/url/parse_path.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace cercle::net {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view name) {
  struct Type {
    std::string_view ext, mime;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  for (const auto& t : kTypes) {
    if (name.size() >= t.ext.size() && name.substr(name.size() - t.ext.size()) == t.ext)
      return t.mime;
  }
  return "application/octet-stream";
}

namespace {

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The q-value of one Accept-Encoding element ("gzip;q=0.5"): 1 when absent.
double q_value(std::string_view params) {
  for (size_t start = 0; start <= params.size();) {
    const size_t end = std::min(params.find(';', start), params.size());
    const auto param = trim(params.substr(start, end - start));
    if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      try {
        return std::stod(std::string(param.substr(2)));
      } catch (...) {
        return 0;  // Unparsable: treat as refused.
      }
    }
    start = end + 1;
  }
  return 1;
}

bool is_regular(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Returns the decoded relative path, or nullopt when a segment is unsafe.
std::optional<fs::path> safe_relative(std::string_view target) {
  const auto query = target.find_first_of("?#");
  if (query != std::string_view::npos) target = target.substr(0, query);
  auto parsed = boost::urls::parse_path(target);
  if (!parsed) return std::nullopt;
  fs::path rel;
  for (auto encoded : *parsed) {
    const std::string segment = encoded.decode();
    if (segment.empty()) continue;
    // No parent references, no hidden files, no separators smuggled inside a segment.
    if (segment.front() == '.' || segment.find_first_of("/\\") != std::string::npos ||
        segment.find('\0') != std::string::npos) {
      return std::nullopt;
    }
    rel /= segment;
  }
  return rel;
}

}  // namespace

bool accepts_gzip(std::string_view header) {
  std::optional<double> gzip, any;
  for (size_t start = 0; start <= header.size();) {
    const size_t end = std::min(header.find(',', start), header.size());
    const auto element = trim(header.substr(start, end - start));
    const size_t semi = std::min(element.find(';'), element.size());
    const auto coding = trim(element.substr(0, semi));
    const double q = q_value(element.substr(std::min(semi + 1, element.size())));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) gzip = q;
    if (coding == "*") any = q;
    start = end + 1;
  }
  return gzip ? *gzip > 0 : (any && *any > 0);
}

std::optional<StaticFile> resolve_static(const std::string& root, std::string_view target,
                                         bool accepts_gzip) {
  if (root.empty() || target.empty() || target.front() != '/') return std::nullopt;
  auto rel = safe_relative(target);
  if (!rel) return std::nullopt;
  fs::path file = fs::path(root) / *rel;
  if (rel->empty() || !is_regular(file)) {
    // Client-side routes have no extension; anything else that is missing is a 404.
    if (!rel->empty() && rel->has_extension()) return std::nullopt;
    file = fs::path(root) / "index.html";
    if (!is_regular(file)) return std::nullopt;
  }
  StaticFile out;
  out.content_type = std::string(content_type_for(file.filename().string()));
  // Vite puts content-hashed files under assets/: they never change under one name.
  const bool hashed = !rel->empty() && rel->begin()->string() == "assets";
  out.cache_control = hashed ? "public, max-age=31536000, immutable" : "no-cache";
  out.path = file.string();
  if (accepts_gzip) {
    fs::path gz = file;
    gz += ".gz";
    if (is_regular(gz)) {
      out.path = gz.string();
      out.gzip = true;
    }
  }
  return out;
}

}  // namespace cercle::net

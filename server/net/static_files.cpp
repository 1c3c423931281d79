#include "server/net/static_files.h"

#include <boost/url/parse_path.hpp>

#include <filesystem>
#include <system_error>

namespace cercle::net {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view name) {
  struct Type {
    std::string_view ext, mime;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},          {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},              {".png", "image/png"},
      {".ico", "image/x-icon"},               {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},  {".wasm", "application/wasm"},
  };
  for (const auto& t : kTypes) {
    if (name.size() >= t.ext.size() && name.substr(name.size() - t.ext.size()) == t.ext) return t.mime;
  }
  return "application/octet-stream";
}

namespace {

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

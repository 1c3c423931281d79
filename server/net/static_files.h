// Maps request paths to files of the web client's build folder, safely: no path leaves the folder,
// hidden files are never served, and unknown paths without an extension fall back to index.html so
// that client-side routes (such as /c/<token>) load the app. Pure functions over the filesystem.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cercle::net {

struct StaticFile {
  std::string path;  // File to send.
  std::string content_type;
  std::string cache_control;
  bool gzip = false;  // `path` is the pre-compressed ".gz" twin: send Content-Encoding: gzip.
};

// Returns the file for `target` (the request target, with its query) in `root`, or nullopt for 404.
// `accepts_gzip`: the request's Accept-Encoding allows gzip.
std::optional<StaticFile> resolve_static(const std::string& root, std::string_view target,
                                         bool accepts_gzip);

// Whether an Accept-Encoding header value accepts gzip (RFC 9110 12.5.3: "gzip;q=0" refuses it, and
// "*" stands for any coding not listed).
bool accepts_gzip(std::string_view accept_encoding);

// Returns the MIME type for a file name, from its extension.
std::string_view content_type_for(std::string_view name);

}  // namespace cercle::net

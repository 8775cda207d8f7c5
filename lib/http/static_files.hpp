#pragma once
// Files embedded into the binary at build time (cmake/EmbedFiles.cmake
// generates the table), served as GET routes: nothing is read from disk at
// run time. An asset has a content-hashed name and is cached for a year
// (immutable: a new build gives a new name); a page keeps its URL and is
// revalidated on every use (no-cache), so it always names the current assets.

#include <span>
#include <string>
#include <string_view>

#include "lib/http/router.hpp"

namespace svc::http {

struct StaticFile {
  std::string_view path;          // URL path: "/docs", "/docs/assets/app.3f2a1b4c5d6e.js"
  std::string_view source;        // the file it was made from, for the documentation: "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  bool immutable;                 // a hashed asset (else a page)
};

inline constexpr std::string_view kImmutableCache = "public, max-age=31536000, immutable";
inline constexpr std::string_view kRevalidate = "no-cache";

// One GET route per file, documented under `tag`, pages with `page_summary`.
// `files` must outlive the router (the generated tables are static).
void add_static_routes(Router& router, std::span<const StaticFile> files, const std::string& tag,
                       const std::string& page_summary);

}  // namespace svc::http

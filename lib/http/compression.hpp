#pragma once
// gzip for answers a browser downloads: an answer of at least kGzipMinBytes
// in a textual type (JSON, HTML, CSS, JavaScript, text, SVG) is compressed
// when the request's Accept-Encoding allows gzip. Such answers carry
// Vary: Accept-Encoding either way, so a shared cache keeps both forms apart.
// Smaller ones are sent as they are: the header and the CPU would cost
// more than the bytes saved.

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/http/message.hpp"

namespace svc::http {

inline constexpr std::size_t kGzipMinBytes = 1024;

// `data` as a gzip member (RFC 1952) at zlib's `level` (1 fastest .. 9 smallest).
std::string gzip(std::string_view data, int level);

// Compresses `response` for `request` when both allow it; its ETag, if any,
// gets the suffix "-gzip" (another representation, another tag). Returns
// true when it compressed.
bool apply_compression(const Request& request, Response& response);

}  // namespace svc::http

#pragma once
// Entity tags and conditional GETs (RFC 9110 §8.8.3, §13.1.2): a successful
// GET or HEAD answer gets an ETag computed from its body, and a request whose
// If-None-Match already names it gets 304 Not Modified with no body. A
// polling client (the dashboard) then pays for the answer only when it
// changed. The tag names the identity body; a compressed answer's tag carries
// a suffix (compression.hpp), and both match here.

#include <string>
#include <string_view>

#include "lib/http/message.hpp"

namespace svc::http {

// A compressed answer's tag: the identity tag with this before its closing quote.
inline constexpr std::string_view kGzipTagSuffix = "-gzip";

// "\"<16 hex digits>\"": a 64-bit MurmurHash64A of the body; a changed body
// changes it (not a cryptographic tag: it says "modified", it guards nothing).
std::string body_etag(std::string_view body);

// For a 2xx answer to GET or HEAD without an ETag of its own: sets one; then,
// when If-None-Match hits it, turns the answer into a 304 (headers kept,
// body dropped). Returns true for a 304.
bool apply_conditional_get(const Request& request, Response& response);

}  // namespace svc::http

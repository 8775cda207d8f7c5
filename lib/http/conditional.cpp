#include "lib/http/conditional.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>

#include "lib/http/header_values.hpp"

namespace svc::http {

namespace {

// zlib takes lengths as uInt: feed a large body in pieces.
template <typename F>
uLong checksum(F f, uLong start, std::string_view body) {
  uLong value = start;
  constexpr std::size_t kPiece = 1u << 30;
  for (std::size_t at = 0; at < body.size(); at += kPiece) {
    const auto n = std::min(kPiece, body.size() - at);
    value = f(value, reinterpret_cast<const Bytef*>(body.data() + at), static_cast<uInt>(n));
  }
  return value;
}

}  // namespace

std::string body_etag(std::string_view body) {
  const auto crc = checksum(crc32, crc32(0, nullptr, 0), body);
  const auto adler = checksum(adler32, adler32(0, nullptr, 0), body);
  char text[20];
  std::snprintf(text, sizeof text, "\"%08lx%08lx\"", crc & 0xffffffffUL, adler & 0xffffffffUL);
  return text;
}

bool apply_conditional_get(const Request& request, Response& response) {
  const auto method = request.method();
  if (method != Verb::get && method != Verb::head) return false;
  if (response.result_int() / 100 != 2) return false;
  auto tag = response[bhttp::field::etag];
  if (tag.empty()) {
    response.set(bhttp::field::etag, body_etag(response.body()));
    tag = response[bhttp::field::etag];
  }
  const auto if_none_match = request[bhttp::field::if_none_match];
  if (if_none_match.empty()) return false;
  // The client may hold the tag of either form (compression comes after this).
  bool hit = none_match_hits(if_none_match, tag);
  if (!hit && tag.size() > 2 && tag.back() == '"') {
    std::string compressed(tag.substr(0, tag.size() - 1));
    compressed.append(kGzipTagSuffix).append("\"");
    hit = none_match_hits(if_none_match, compressed);
  }
  if (!hit) return false;
  response.result(Status::not_modified);
  response.body().clear();
  response.erase(bhttp::field::content_type);
  return true;
}

}  // namespace svc::http

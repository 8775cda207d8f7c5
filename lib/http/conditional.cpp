#include "lib/http/conditional.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>

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
  // "%08lx%08lx" in quotes, by hand: snprintf's format parsing was most of the cost on small bodies.
  constexpr char kHex[] = "0123456789abcdef";
  std::string tag(18, '"');
  const std::uint64_t both = (std::uint64_t{crc & 0xffffffffUL} << 32) | (adler & 0xffffffffUL);
  for (int i = 0; i < 16; ++i) tag[static_cast<std::size_t>(16 - i)] = kHex[(both >> (4 * i)) & 0xf];
  return tag;
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

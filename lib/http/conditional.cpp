#include "lib/http/conditional.hpp"

#include "lib/core/hash.hpp"
#include "lib/core/hex.hpp"
#include "lib/http/header_values.hpp"

namespace svc::http {

std::string body_etag(std::string_view body) {
  // "%016llx" in quotes, by hand: snprintf's format parsing was most of the cost on small bodies.
  std::string tag(core::kHex16Size + 2, '"');
  core::write_hex16(tag.data() + 1, core::murmur64a(body));
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

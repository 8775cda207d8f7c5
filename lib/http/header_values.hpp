#pragma once
// Reading and extending comma-separated header values (RFC 9110 §5.6.1):
// token lists such as Vary and Access-Control-Request-Method, codings with
// q-values (Accept-Encoding), entity-tag lists (If-None-Match).

#include <string_view>

#include "lib/http/message.hpp"

namespace svc::http {

// `token` is one of the list's elements, compared case-insensitively.
bool header_list_contains(std::string_view list, std::string_view token) noexcept;

// Appends `token` to the response's Vary unless it is there already.
void add_vary(Response& response, std::string_view token);

// Accept-Encoding allows `coding` ("gzip"): named, or matched by "*", with
// a q-value above 0. "gzip;q=0" refuses it.
bool accepts_coding(std::string_view accept_encoding, std::string_view coding) noexcept;

// If-None-Match matches `etag` ("\"abc\""): "*", or an element equal to it
// by the weak comparison (a W/ prefix on either side is ignored, RFC 9110 §8.8.3.2).
bool none_match_hits(std::string_view if_none_match, std::string_view etag) noexcept;

}  // namespace svc::http

#pragma once
// Retry-After (RFC 9110 §10.2.3), as 429 and 503 answers carry it: how long
// the server asks us to wait before the next request.

#include <chrono>
#include <optional>
#include <string_view>

namespace svc::http {

// "120" (delay-seconds) or an HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT",
// IMF-fixdate, the form RFC 9110 requires senders to use) measured from
// `now`; a date in the past is 0. nullopt for an absent or malformed value.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace svc::http

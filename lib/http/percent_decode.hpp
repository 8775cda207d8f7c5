#pragma once

#include <string>
#include <string_view>

namespace svc::http {

// RFC 3986 %XX decoding into `out`; in query strings '+' also means space.
// Returns false on a truncated or non-hex escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

}  // namespace svc::http

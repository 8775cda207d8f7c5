#pragma once
// libpq's keyword/value connection strings ("host=... password='...'").

#include <string>
#include <string_view>

namespace svc::pg {

// A conninfo value: single-quoted, with \ and ' backslash-escaped.
std::string quote_conninfo_value(std::string_view value);

}  // namespace svc::pg

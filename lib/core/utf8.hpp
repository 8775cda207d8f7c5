#pragma once
// Client bytes echoed in JSON must be UTF-8 (RFC 8259 section 8.1): a
// percent-decoded query value can be any bytes.

#include <string>
#include <string_view>

namespace svc::core {

// `text` with each ill-formed UTF-8 sequence (each maximal subpart, as the
// Unicode standard recommends, section 3.9) replaced by U+FFFD; well-formed
// text comes back unchanged. Starlette decodes query strings the same way.
std::string valid_utf8(std::string_view text);

}  // namespace svc::core

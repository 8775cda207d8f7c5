#pragma once
// The request-target (RFC 9112 section 3.2) reduced to what routing needs.
// Origin form "/path?query" is the usual one; a server must also accept the
// absolute form "http://host/path?query" (section 3.2.2: proxies and some
// clients send it) and "*" for a server-wide OPTIONS.

#include <optional>
#include <string_view>

namespace svc::http {

struct Target {
  enum class Form { origin, absolute, asterisk };
  Form form = Form::origin;
  std::string_view path;   // starts with '/' ("/" when an absolute form has none); "*" for asterisk
  std::string_view query;  // without the '?'; empty when there is none
};

// nullopt for what is not a request-target we serve: the authority form
// (CONNECT), a scheme other than http(s), an absolute form without a host, a
// fragment, or a byte outside printable ASCII (Beast lets 0x80-0xFF through;
// a URI has none, RFC 3986 section 2).
std::optional<Target> parse_target(std::string_view target) noexcept;

}  // namespace svc::http

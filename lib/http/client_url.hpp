#pragma once
// The parts of an outbound request URL and of the proxy URL that the HTTP
// client needs, parsed with Boost.URL. Pure functions: no I/O, no Beast.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace svc::http {

struct TargetUrl {
  bool tls = false;           // https
  std::string host;           // as resolved and verified: "example.com", "127.0.0.1", "::1" (no brackets)
  std::uint16_t port = 0;     // explicit or the scheme's default
  bool ip_literal = false;    // host is an IPv4/IPv6 address: no DNS, no SNI
  std::string authority;      // host[:port] as the Host header and CONNECT carry it ("[::1]:8443")
  std::string target;         // origin-form: "/path?query" (never empty)
  std::string absolute() const;  // absolute-form for a proxy: "http://authority/path?query"
};

// Throws ClientError(ClientPhase::url) for anything but an absolute
// http(s) URL with a host: other schemes, user info, a malformed URL.
TargetUrl parse_target_url(std::string_view url);

struct ProxyUrl {
  std::string host;            // no brackets
  std::uint16_t port = 0;
  bool ip_literal = false;
  std::optional<std::string> authorization;  // "Basic base64(user:pass)" when the URL has credentials
  std::string display;         // "http://host:port" with no user info: the only form that reaches a log
};

// ORIGIN_PROXY_URL: http://[user:pass@]host[:port] (port defaults to 80).
// Throws std::invalid_argument saying what is wrong, never echoing the password.
ProxyUrl parse_proxy_url(std::string_view url);

}  // namespace svc::http

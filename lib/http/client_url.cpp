#include "lib/http/client_url.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <openssl/evp.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "lib/config/database_url.hpp"
#include "lib/http/client.hpp"

namespace svc::http {

namespace urls = boost::urls;

namespace {

// Host, port and the authority as a Host header carries it, from a parsed URL.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  bool ip_literal = false;
  std::string authority;
};

// `why` describes a defect; nullptr when the URL's host and port are fine.
const char* endpoint_of(const urls::url_view& url, std::uint16_t default_port, Endpoint& out) {
  switch (url.host_type()) {
    case urls::host_type::name:
      out.ip_literal = false;
      break;
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      out.ip_literal = true;
      break;
    default:
      return "it has no host";
  }
  out.host = url.host_address();
  if (out.host.empty()) return "it has no host";
  if (out.host.find('\0') != std::string::npos) return "its host contains a NUL byte";
  // host_address() is percent-decoded: "121%80" would reach DNS and the Host
  // header as a raw 0x80 byte. A name is letters, digits, '-', '.' and '_'.
  if (url.host_type() == urls::host_type::name &&
      !std::all_of(out.host.begin(), out.host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_';
      }))
    return "its host is not a DNS name (letters, digits, '-', '.', '_')";
  out.port = default_port;
  if (url.has_port()) {
    // port_number() wraps values above 65535: parse the digits ourselves.
    std::string_view digits = url.port();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535)
      return "its port is not a number from 1 to 65535";
    out.port = static_cast<std::uint16_t>(value);
  }
  const bool v6 = url.host_type() == urls::host_type::ipv6;
  out.authority.clear();
  if (v6) out.authority += '[';
  out.authority += out.host;
  if (v6) out.authority += ']';
  if (out.port != default_port) out.authority.append(":").append(std::to_string(out.port));
  return nullptr;
}

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

[[noreturn]] void reject_target(std::string_view url, std::string_view why) {
  // The URL may be long, hold junk or a password: quote a bounded, masked prefix.
  std::string message("url: ");
  message.append(why).append(" (\"").append(config::masked_url(url.substr(0, 200))).append("\")");
  throw ClientError(ClientPhase::url, message);
}

}  // namespace

std::string TargetUrl::absolute() const {
  std::string out(tls ? "https://" : "http://");
  out.append(authority).append(target);
  return out;
}

TargetUrl parse_target_url(std::string_view url) {
  auto parsed = urls::parse_uri(url);
  if (!parsed) reject_target(url, "not an absolute URL");
  const urls::url_view& view = *parsed;
  TargetUrl result;
  if (view.scheme_id() == urls::scheme::https) {
    result.tls = true;
  } else if (view.scheme_id() != urls::scheme::http) {
    reject_target(url, "unsupported scheme (expected http or https)");
  }
  if (view.has_userinfo()) reject_target(url, "user info in request URLs is not supported");
  Endpoint endpoint;
  if (const char* why = endpoint_of(view, result.tls ? 443 : 80, endpoint)) reject_target(url, why);
  result.host = std::move(endpoint.host);
  result.port = endpoint.port;
  result.ip_literal = endpoint.ip_literal;
  result.authority = std::move(endpoint.authority);
  std::string_view path = view.encoded_path();
  // After an authority the path is empty or starts with '/' (RFC 3986
  // path-abempty). Boost.URL 1.81 reads "http://h:12ab/x" as port 12 and
  // path "ab/x"; that is a malformed port, not a path.
  if (!path.empty() && path.front() != '/') reject_target(url, "its port is not a number from 1 to 65535");
  if (path.empty()) path = "/";
  result.target.assign(path.data(), path.size());
  if (view.has_query()) result.target.append("?").append(view.encoded_query());
  return result;
}

ProxyUrl parse_proxy_url(std::string_view url) {
  auto parsed = urls::parse_uri(url);
  // Never quote the URL itself: it may carry the proxy password.
  if (!parsed) throw std::invalid_argument("the proxy URL is malformed (expected http://[user:pass@]host:port)");
  const urls::url_view& view = *parsed;
  if (view.scheme_id() != urls::scheme::http)
    throw std::invalid_argument("the proxy URL must start with http:// (https:// proxies are not supported)");
  std::string_view path = view.encoded_path();
  if ((!path.empty() && path != "/") || view.has_query() || view.has_fragment())
    throw std::invalid_argument("the proxy URL must be http://[user:pass@]host:port with no path or query");
  Endpoint endpoint;
  if (const char* why = endpoint_of(view, 80, endpoint)) throw std::invalid_argument(std::string("the proxy URL: ") + why);
  ProxyUrl result;
  result.host = std::move(endpoint.host);
  result.port = endpoint.port;
  result.ip_literal = endpoint.ip_literal;
  result.display = "http://";
  result.display.append(endpoint.authority);
  if (endpoint.port == 80) result.display.append(":80");
  if (view.has_userinfo()) {
    std::string credentials = view.user();
    credentials.append(":").append(view.password());
    result.authorization = "Basic " + base64(credentials);
  }
  return result;
}

}  // namespace svc::http

#include "lib/http/cors.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>

#include "lib/http/header_values.hpp"

namespace svc::http {

namespace {

// What a page may send and read. X-API-Key is how it authenticates; the
// others are the caching and tracing headers the API honours.
constexpr std::string_view kAllowHeaders = "X-API-Key, Content-Type, If-None-Match, X-Request-ID, traceparent";
constexpr std::string_view kExposeHeaders = "X-Request-ID, ETag, Retry-After";
constexpr std::string_view kAllowMethods = "GET, HEAD, POST";
// Browsers cap it (Chromium at 2 h); 10 minutes keeps a changed policy prompt.
constexpr std::string_view kMaxAge = "600";

// "https://host[:port]" or "http://...": scheme, "://", a host, no path.
bool is_origin(std::string_view o) {
  const auto sep = o.find("://");
  if (sep == std::string_view::npos) return false;
  const auto scheme = o.substr(0, sep);
  const auto rest = o.substr(sep + 3);
  return (scheme == "http" || scheme == "https") && !rest.empty() &&
         rest.find_first_of("/?#@ ") == std::string_view::npos;
}

}  // namespace

const config::Section<CorsSettings>& cors_section() {
  static const auto section = [] {
    config::Section<CorsSettings> s;
    s.add({"CORS_ALLOW_ORIGINS", "(none)",
           "origins whose pages may call the API, comma-separated (https://host[:port]), or *; empty = CORS off"},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, CorsSettings& out) {
            for (auto& origin : r.list(v)) {
              if (origin != "*" && !is_origin(origin))
                throw config::ConfigError(
                    v.name, config::error_line(v.name, config::shown(v, origin),
                                               "is not an origin (expected scheme://host[:port], no path, or *)"));
              out.allow_origins.push_back(std::move(origin));
            }
          });
    return s;
  }();
  return section;
}

Cors::Cors(CorsSettings settings) {
  for (auto& o : settings.allow_origins) {
    if (o == "*") {
      any_ = true;
    } else {
      origins_.push_back(std::move(o));
    }
  }
}

bool Cors::allowed(std::string_view origin) const noexcept {
  if (origin.empty()) return false;
  if (any_) return true;
  // Origins are compared as browsers serialise them: scheme and host lower case.
  return std::any_of(origins_.begin(), origins_.end(),
                     [origin](const std::string& o) { return boost::beast::iequals(o, origin); });
}

std::optional<Response> Cors::preflight(const Request& request) const {
  if (!enabled() || request.method() != Verb::options) return std::nullopt;
  const auto origin = request[bhttp::field::origin];
  const auto method = request[bhttp::field::access_control_request_method];
  if (origin.empty() || method.empty()) return std::nullopt;
  if (!allowed(origin)) {
    auto denied = error_response(Status::forbidden, "CORS: origin not allowed");
    denied.set(bhttp::field::vary, "Origin");
    return denied;
  }
  if (!header_list_contains(kAllowMethods, method)) {
    auto denied = error_response(Status::forbidden, "CORS: method not allowed");
    denied.set(bhttp::field::vary, "Origin");
    return denied;
  }
  Response res{Status::no_content, request.version()};
  res.set(bhttp::field::access_control_allow_origin, any_ ? std::string_view("*") : std::string_view(origin));
  res.set(bhttp::field::access_control_allow_methods, kAllowMethods);
  res.set(bhttp::field::access_control_allow_headers, kAllowHeaders);
  res.set(bhttp::field::access_control_max_age, kMaxAge);
  res.set(bhttp::field::vary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return res;
}

void Cors::decorate(const Request& request, Response& response) const {
  if (!enabled()) return;
  if (!any_) add_vary(response, "Origin");  // the answer differs by Origin only when the list is explicit
  const auto origin = request[bhttp::field::origin];
  if (!allowed(origin)) return;
  response.set(bhttp::field::access_control_allow_origin, any_ ? std::string_view("*") : std::string_view(origin));
  response.set(bhttp::field::access_control_expose_headers, kExposeHeaders);
}

}  // namespace svc::http

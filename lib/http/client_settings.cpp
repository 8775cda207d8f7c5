#include "lib/http/client_settings.hpp"

#include "lib/config/database_url.hpp"

namespace svc::http {

const config::Section<ClientSettings>& client_section() {
  static const auto section = [] {
    constexpr config::SecondsRange timeouts{0.1, 600};
    config::Section<ClientSettings> s;
    s.seconds("UPSTREAM_CONNECT_TIMEOUT_SECONDS", &ClientSettings::connect_timeout, timeouts,
              "outbound calls: seconds to resolve, connect, tunnel and handshake");
    s.seconds("UPSTREAM_READ_TIMEOUT_SECONDS", &ClientSettings::read_timeout, timeouts,
              "outbound calls: seconds to wait for response bytes");
    s.seconds("UPSTREAM_TIMEOUT_SECONDS", &ClientSettings::total_timeout, timeouts,
              "outbound calls: seconds for a whole call, retries included");
    s.integer("UPSTREAM_MAX_RESPONSE_BYTES", &ClientSettings::max_response_bytes, {1024, 1024 * 1024 * 1024},
              "largest accepted outbound response");
    s.integer("UPSTREAM_MAX_CONNECTIONS", &ClientSettings::max_connections_per_origin, {1, 1024},
              "keep-alive connections per outbound host");
    s.integer("UPSTREAM_MAX_WAITERS", &ClientSettings::max_waiters, {1, 1'000'000},
              "outbound calls queued per host for a connection; more fail at once");
    s.integer("UPSTREAM_RETRIES", &ClientSettings::max_retries, {0, 10}, "extra attempts for read-only outbound calls");
    s.text("UPSTREAM_CA_FILE", &ClientSettings::ca_file,
           "PEM file of CA certificates trusted besides the system store (for tests)", "(none)");
    s.boolean("USE_ORIGIN_PROXY", &ClientSettings::use_proxy, "send outbound calls through ORIGIN_PROXY_URL (true|false)");
    s.add({"ORIGIN_PROXY_URL", "(none)", "HTTP proxy http://[user:password@]host:port; CONNECT is used for https", true,
           "http://host:port"},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, ClientSettings& out) {
            out.proxy_url = r.string(v, "");
            if (!out.use_proxy) return;
            if (out.proxy_url.empty())
              throw config::ConfigError(v.name, v.name + " is not set (expected " + v.expected + "; USE_ORIGIN_PROXY=true)");
            if (out.proxy_url.rfind("http://", 0) != 0 || out.proxy_url.size() <= 7)
              throw config::ConfigError(v.name, config::error_line(v.name, config::masked_url(out.proxy_url),
                                                                   "is not an HTTP proxy URL (expected " + v.expected + ")"));
          });
    return s;
  }();
  return section;
}

}  // namespace svc::http

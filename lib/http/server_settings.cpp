#include "lib/http/server_settings.hpp"

namespace svc::http {

const config::Section<ServerSettings>& listen_section() {
  static const auto section = [] {
    config::Section<ServerSettings> s;
    s.text("HOST", &ServerSettings::host, "address to listen on");
    s.add({"PORT", std::to_string(ServerSettings{}.port), "TCP port to listen on (1-65535)"},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, ServerSettings& out) {
            out.port = r.port(v, out.port);
          });
    return s;
  }();
  return section;
}

const config::Section<ServerSettings>& limits_section() {
  static const auto section = [] {
    config::Section<ServerSettings> s;
    s.integer("MAX_HEADER_BYTES", &ServerSettings::max_header_bytes, {1024, 1024 * 1024},
              "largest accepted request header");
    s.integer("MAX_BODY_BYTES", &ServerSettings::max_body_bytes, {0, 1024 * 1024 * 1024},
              "largest accepted request body, on a route that takes one (the others take none)");
    s.seconds("HEADER_TIMEOUT_SECONDS", &ServerSettings::header_timeout, {0.1, 3600},
              "seconds allowed to receive a request header (and again for the body, on a route that takes one)");
    s.seconds("IDLE_TIMEOUT_SECONDS", &ServerSettings::idle_timeout, {0.1, 86400},
              "seconds a keep-alive connection may idle, and a response may take to be written");
    s.integer("MAX_CONNECTIONS", &ServerSettings::max_connections, {1, 1'000'000},
              "open client connections; beyond them a new one is closed at once");
    return s;
  }();
  return section;
}

}  // namespace svc::http

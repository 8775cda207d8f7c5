#pragma once
// The HTTP server's settings: where it listens (HOST, PORT) and its limits
// (MAX_HEADER_BYTES, MAX_BODY_BYTES, HEADER_TIMEOUT_SECONDS, IDLE_TIMEOUT_SECONDS,
// MAX_CONNECTIONS) and which origins' pages may call it (CORS_ALLOW_ORIGINS).
// docs/http-server.md says what each limit does to a client.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/config/section.hpp"
#include "lib/http/cors.hpp"

namespace svc::http {

struct ServerSettings {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{75'000};
  // Open client connections; one more is accepted and closed at once. Keep it
  // below RLIMIT_NOFILE (the server warns at start-up if it is not).
  std::size_t max_connections = 10'000;
  CorsSettings cors;  // CORS_ALLOW_ORIGINS (cors.hpp)
};

const config::Section<ServerSettings>& listen_section();  // HOST, PORT
const config::Section<ServerSettings>& limits_section();  // the request limits and timeouts

}  // namespace svc::http

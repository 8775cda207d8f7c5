#pragma once
// Knobs of the outbound HTTP client (UPSTREAM_*, USE_ORIGIN_PROXY,
// ORIGIN_PROXY_URL): a plain struct, so that reading it from the environment
// pulls in neither Beast nor OpenSSL.

#include <chrono>
#include <cstddef>
#include <string>

#include "lib/config/section.hpp"

namespace svc::http {

struct ClientSettings {
  std::chrono::milliseconds connect_timeout{5'000};  // resolve + TCP connect + proxy CONNECT + TLS handshake
  std::chrono::milliseconds read_timeout{10'000};    // each read of the response may wait this long
  std::chrono::milliseconds total_timeout{15'000};   // one call, all attempts included
  std::size_t max_response_bytes = 8 * 1024 * 1024;  // header + body
  std::size_t max_connections_per_origin = 16;       // open (idle + busy); more callers wait
  std::size_t max_waiters = 256;                     // callers queued per origin; more fail at once (timeout)
  std::chrono::milliseconds idle_timeout{30'000};    // keep-alive connections idle longer are closed
  unsigned max_retries = 2;                          // extra attempts, only for calls marked retry_safe
  std::chrono::milliseconds retry_backoff{100};      // base of the jittered exponential backoff
  std::string ca_file;                               // UPSTREAM_CA_FILE: trusted in addition to the system store
  bool use_proxy = false;                            // USE_ORIGIN_PROXY
  std::string proxy_url;                             // ORIGIN_PROXY_URL: http://[user:pass@]host:port
  std::string user_agent;                            // the application's ("name/version"); none when empty
};

const config::Section<ClientSettings>& client_section();

}  // namespace svc::http

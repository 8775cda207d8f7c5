#pragma once
// Outbound HTTP/1.1 client on Beast: a bounded keep-alive connection pool per
// origin, TLS through OpenSSL (system CA store plus UPSTREAM_CA_FILE, hostname
// verification, SNI), connect/read/total timeouts, a response size cap,
// jittered retries only for calls the caller marks safe, and an HTTP(S) proxy
// (CONNECT tunnel for https, absolute-form for http). A lifecycle component:
// stop() refuses new calls, cancels those in flight and closes every socket.
// Beast and OpenSSL stay behind the pimpl so this header is cheap to include.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "lib/http/client_settings.hpp"
#include "lib/http/message.hpp"
#include "lib/lifecycle/component.hpp"

namespace spdlog {
class logger;
}

namespace svc::http {

// Where a call failed; part of every ClientError message.
enum class ClientPhase { url, resolve, connect, proxy, tls, write, read, timeout, status, body_too_large, stopped };
std::string_view to_string(ClientPhase phase) noexcept;

class ClientError : public std::runtime_error {
 public:
  // what() reads e.g. "connect: Connection refused (127.0.0.1:9)" or "status 503":
  // it always starts with the phase's name (prefixed to `message` if missing).
  ClientError(ClientPhase phase, std::string message, unsigned status = 0,
              std::optional<std::chrono::seconds> retry_after = std::nullopt);
  ClientPhase phase() const noexcept { return phase_; }
  // The HTTP status for ClientPhase::status (and the proxy's answer to
  // CONNECT for ClientPhase::proxy); 0 otherwise.
  unsigned status() const noexcept { return status_; }
  bool timed_out() const noexcept { return phase_ == ClientPhase::timeout; }
  // The answer's Retry-After (a 429 or 503 asking us to wait), when it had a valid one.
  std::optional<std::chrono::seconds> retry_after() const noexcept { return retry_after_; }

 private:
  ClientPhase phase_;
  unsigned status_;
  std::optional<std::chrono::seconds> retry_after_;
};

struct ClientRequest {
  Verb method = Verb::get;
  std::string url;  // absolute: http://host[:port]/path?query or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";  // sent when body is not empty
  // Idempotent from the caller's point of view: may be retried after a
  // connection failure, a timeout of one attempt, or a 502/503/504.
  bool retry_safe = false;
  std::chrono::milliseconds timeout{0};  // total for this call; 0 = settings.total_timeout
};

struct ClientResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  unsigned attempts = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view header(std::string_view name) const noexcept;  // case-insensitive; "" when absent
};

class Client final : public lifecycle::Component {
 public:
  Client(boost::asio::io_context& ioc, ClientSettings settings, spdlog::logger& log);
  ~Client() override;

  std::string_view name() const override { return "http-client"; }
  // Builds the TLS context (system CAs + ca_file) and checks the proxy URL;
  // throws if the CA file cannot be loaded.
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  // Sends `request`, reusing a pooled connection to its origin when one is
  // idle. Returns 2xx responses; throws ClientError for anything else
  // (including non-2xx, phase status). Honours the caller's cancellation:
  // a cancelled call throws boost::system::system_error(operation_aborted).
  // May be awaited from any executor; sockets live on the constructor's
  // io_context, which must be running. read_timeout also bounds the write
  // of the request.
  boost::asio::awaitable<ClientResponse> send(ClientRequest request);

  struct Stats {
    std::size_t open_connections;  // all origins, idle + busy
    std::size_t idle_connections;
    std::size_t in_flight;
    std::uint64_t requests_total;
    std::uint64_t connections_opened_total;
    std::uint64_t retries_total;
    std::uint64_t failures_total;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace svc::http

#pragma once
// Opening an outbound connection (inside the HTTP client): resolve (Asio's
// resolver thread, abandoned at the deadline), TCP connect, a CONNECT tunnel
// through the proxy for https, and the TLS handshake with SNI and hostname
// (or IP) verification. Every step within the call's connect budget.

#include <atomic>
#include <cstdint>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "lib/http/client_attempt.hpp"
#include "lib/http/client_connection.hpp"
#include "lib/http/client_settings.hpp"

namespace svc::http::detail {

struct Connector {
  boost::asio::io_context& ioc;  // sockets live here
  const ClientSettings& settings;
  boost::asio::ssl::context& tls;
  const std::optional<ProxyUrl>& proxy;
  std::atomic<std::size_t>& open_sockets;
  std::atomic<std::uint64_t>& opened_total;

  // Throws AttemptError (retryable for network failures, not for a
  // certificate that fails verification) or system_error(operation_aborted).
  boost::asio::awaitable<ConnectionPtr> connect(const CallPlan& plan) const;
};

}  // namespace svc::http::detail

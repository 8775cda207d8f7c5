#include "lib/http/client_connect.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "lib/core/with_timer.hpp"

namespace svc::http::detail {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using core::nothrow;
using core::with_timer;

namespace {

// A proxy's answer to CONNECT is a short header.
constexpr std::uint32_t kProxyHeaderLimit = 16 * 1024;

// "certificate verify failed (SSL routines)" -> "certificate verify failed",
// plus OpenSSL's verify result when the peer's certificate was rejected.
std::string tls_reason(const error_code& ec, SSL* ssl, bool& verify_failed) {
  std::string reason = ec.message();
  if (auto paren = reason.find(" ("); paren != std::string::npos) reason.resize(paren);
  if (ec == ssl::error::stream_truncated || ec == asio::error::eof) reason = "connection closed during the handshake";
  long verify = SSL_get_verify_result(ssl);
  verify_failed = verify != X509_V_OK;
  if (verify_failed) reason.append(": ").append(X509_verify_cert_error_string(verify));
  return reason;
}

asio::awaitable<tcp::resolver::results_type> resolve(asio::io_context& ioc, const std::string& host,
                                                     std::uint16_t port, asio::steady_timer& timer,
                                                     const Budget& budget, const CallPlan& plan) {
  // getaddrinfo cannot be cancelled: on timeout or cancellation the lookup
  // is abandoned and finishes on its own, holding only its shared state.
  struct Lookup {
    Lookup(asio::io_context& ioc, const asio::any_io_executor& ex) : resolver(ioc), done(ex, 1) {}
    tcp::resolver resolver;
    asio::experimental::concurrent_channel<void(error_code, tcp::resolver::results_type)> done;
  };
  auto lookup = std::make_shared<Lookup>(ioc, plan.executor);
  lookup->resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                                 [lookup](const error_code& ec, tcp::resolver::results_type results) {
                                   lookup->done.try_send(ec, std::move(results));
                                 });
  auto [ec, results] = co_await with_timer(lookup->done.async_receive(nothrow), timer);
  if (ec == asio::error::operation_aborted) throw_cancelled();
  if (ec == asio::error::timed_out) throw budget.expired();
  if (ec) throw AttemptError(ClientPhase::resolve, "resolve: " + ec.message() + " (" + host + ")", true);
  co_return results;
}

// CONNECT host:port through the proxy; TLS then runs inside the tunnel.
asio::awaitable<void> open_tunnel(ClientConnection& conn, const ProxyUrl& proxy, const ClientSettings& settings,
                                  asio::steady_timer& timer, Budget step, const CallPlan& plan) {
  step.step = "proxy CONNECT";
  const std::string authority = host_port(plan.url.host, plan.url.port);
  std::string head = "CONNECT ";
  head.append(authority).append(" HTTP/1.1\r\nHost: ").append(authority).append("\r\n");
  if (proxy.authorization) head.append("Proxy-Authorization: ").append(*proxy.authorization).append("\r\n");
  if (!settings.user_agent.empty()) head.append("User-Agent: ").append(settings.user_agent).append("\r\n");
  head.append("\r\n");
  auto [write_ec, written] = co_await with_timer(asio::async_write(conn.socket, asio::buffer(head), nothrow), timer);
  const std::string context = " (CONNECT " + authority + " via " + proxy.display + ")";
  if (write_ec == asio::error::operation_aborted) throw_cancelled();
  if (write_ec == asio::error::timed_out) throw step.expired();
  if (write_ec) throw AttemptError(ClientPhase::proxy, "proxy: " + write_ec.message() + context, true);

  bhttp::response_parser<bhttp::empty_body> parser;
  parser.header_limit(kProxyHeaderLimit);
  parser.skip(true);  // a 2xx answer to CONNECT has no body; the tunnel starts after the header
  auto [read_ec, n] = co_await with_timer(bhttp::async_read_header(conn.socket, conn.buffer, parser, nothrow), timer);
  if (read_ec == asio::error::operation_aborted) throw_cancelled();
  if (read_ec == asio::error::timed_out) throw step.expired();
  if (read_ec) throw AttemptError(ClientPhase::proxy, "proxy: " + read_ec.message() + context, true);
  const unsigned status = parser.get().result_int();
  if (status != 200) {
    throw AttemptError(ClientPhase::proxy,
                       "proxy: CONNECT answered " + std::to_string(status) + " " +
                           std::string(parser.get().reason()) + context,
                       retryable_status(status), status);
  }
  conn.buffer.clear();
}

asio::awaitable<void> handshake(ClientConnection& conn, ssl::context& tls, asio::steady_timer& timer, Budget step,
                                const CallPlan& plan) {
  step.step = "tls handshake";
  conn.tls = std::make_unique<ssl::stream<tcp::socket&>>(conn.socket, tls);
  SSL* handle = conn.tls->native_handle();
  const std::string& host = plan.url.host;
  bool configured = false;
  if (plan.url.ip_literal) {
    // No SNI for addresses (RFC 6066); the certificate must name the IP.
    configured = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), host.c_str()) == 1;
  } else {
    configured = SSL_set_tlsext_host_name(handle, host.c_str()) == 1 && SSL_set1_host(handle, host.c_str()) == 1;
  }
  if (!configured) throw AttemptError(ClientPhase::tls, "tls: cannot set up verification for " + host, false);
  auto [ec] = co_await with_timer(conn.tls->async_handshake(ssl::stream_base::client, nothrow), timer);
  if (ec == asio::error::operation_aborted) throw_cancelled();
  if (ec == asio::error::timed_out) throw step.expired();
  if (ec) {
    bool verify_failed = false;
    std::string reason = tls_reason(ec, handle, verify_failed);
    // A certificate that fails verification fails again: not worth a retry.
    throw AttemptError(ClientPhase::tls, "tls: " + reason + " (" + plan.url.authority + ")", !verify_failed);
  }
}

}  // namespace

bool ClientConnection::still_open() {
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

asio::awaitable<ConnectionPtr> Connector::connect(const CallPlan& plan) const {
  const auto budget = plan.budget("connect", settings.connect_timeout);
  asio::steady_timer timer(plan.executor, budget.at);
  const bool via_proxy = proxy.has_value();
  const std::string& host = via_proxy ? proxy->host : plan.url.host;
  const std::uint16_t port = via_proxy ? proxy->port : plan.url.port;
  const bool ip_literal = via_proxy ? proxy->ip_literal : plan.url.ip_literal;
  std::string where(via_proxy ? "proxy " : "");
  where.append(host_port(host, port));

  std::vector<tcp::endpoint> endpoints;
  if (ip_literal) {
    endpoints.emplace_back(asio::ip::make_address(host), port);
  } else {
    Budget step = budget;
    step.step = "resolve";
    auto results = co_await resolve(ioc, host, port, timer, step, plan);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  auto conn = std::make_unique<ClientConnection>(ioc, open_sockets);
  auto [ec, endpoint] = co_await with_timer(asio::async_connect(conn->socket, endpoints, nothrow), timer);
  if (ec == asio::error::operation_aborted) throw_cancelled();
  if (ec == asio::error::timed_out) throw budget.expired();
  if (ec) throw AttemptError(ClientPhase::connect, "connect: " + ec.message() + " (" + where + ")", true);
  conn->counted = true;
  open_sockets.fetch_add(1, std::memory_order_relaxed);
  opened_total.fetch_add(1, std::memory_order_relaxed);
  error_code ignored;
  conn->socket.set_option(tcp::no_delay(true), ignored);

  if (via_proxy && plan.url.tls) co_await open_tunnel(*conn, *proxy, settings, timer, budget, plan);
  if (plan.url.tls) co_await handshake(*conn, tls, timer, budget, plan);
  co_return conn;
}

}  // namespace svc::http::detail

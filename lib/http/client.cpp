#include "lib/http/client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include "lib/http/client_url.hpp"
#include "lib/core/async_event.hpp"

namespace svc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------- errors and responses

std::string_view to_string(ClientPhase phase) noexcept {
  switch (phase) {
    case ClientPhase::url: return "url";
    case ClientPhase::resolve: return "resolve";
    case ClientPhase::connect: return "connect";
    case ClientPhase::proxy: return "proxy";
    case ClientPhase::tls: return "tls";
    case ClientPhase::write: return "write";
    case ClientPhase::read: return "read";
    case ClientPhase::timeout: return "timeout";
    case ClientPhase::status: return "status";
    case ClientPhase::body_too_large: return "body_too_large";
    case ClientPhase::stopped: return "stopped";
  }
  return "unknown";
}

namespace {

// what() always starts with the phase's name.
std::string with_phase(ClientPhase phase, std::string message) {
  auto name = to_string(phase);
  if (message.starts_with(name)) return message;
  std::string out(name);
  out.append(": ").append(message);
  return out;
}

}  // namespace

ClientError::ClientError(ClientPhase phase, std::string message, unsigned status)
    : std::runtime_error(with_phase(phase, std::move(message))), phase_(phase), status_(status) {}

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers)
    if (beast::iequals(key, name)) return value;
  return {};
}

// ---------------------------------------------------------------- internals

namespace {

// How long stop() waits for cancelled calls to unwind before it gives up on them.
constexpr auto kUnwindWait = std::chrono::seconds(5);
// A proxy's answer to CONNECT is a short header.
constexpr std::uint32_t kProxyHeaderLimit = 16 * 1024;
// Most of a non-2xx body that goes into the error message.
constexpr std::size_t kExcerptBytes = 200;

long long count_ms(Clock::duration d) {
  return static_cast<long long>(std::chrono::duration_cast<milliseconds>(d).count());
}

// One attempt failed; `retryable` when another attempt may succeed (for
// calls marked retry_safe).
class AttemptError : public ClientError {
 public:
  AttemptError(ClientPhase phase, std::string message, bool retryable_, unsigned status = 0)
      : ClientError(phase, std::move(message), status), retryable(retryable_) {}
  bool retryable;
};

// Our caller (or stop()) cancelled the awaiting coroutine. A channel reports
// that as channel_cancelled, everything else as operation_aborted.
bool cancelled(const error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::experimental::error::channel_cancelled;
}

[[noreturn]] void throw_cancelled() {
  throw boost::system::system_error(asio::error::operation_aborted, "HTTP client call cancelled");
}

// A deadline and what it stands for: a step's own timeout (connect_timeout,
// read_timeout) or the call's total timeout, whichever ends first.
struct Budget {
  Clock::time_point at;
  const char* step;        // "connect", "read", ...
  milliseconds length;     // the timeout that sets `at`
  bool total;              // the call's total timeout is the one that ends first

  AttemptError expired() const {
    std::string message("timeout: ");
    if (total) {
      message.append("total ").append(std::to_string(length.count())).append(" ms exceeded during ").append(step);
    } else {
      message.append(step).append(" after ").append(std::to_string(length.count())).append(" ms");
    }
    // A step's own timeout leaves the total room for another attempt.
    return AttemptError(ClientPhase::timeout, std::move(message), !total);
  }
};

// Runs `op` until it completes or `timer` expires. On expiry the result's
// error is timed_out; when the awaiting coroutine is cancelled it is
// operation_aborted (from either side).
template <typename... Ts>
asio::awaitable<std::tuple<error_code, Ts...>> race(asio::awaitable<std::tuple<error_code, Ts...>> op,
                                                    asio::steady_timer& timer) {
  auto winner = co_await (std::move(op) || timer.async_wait(nothrow));
  if (winner.index() == 0) {
    auto result = std::move(std::get<0>(winner));
    if (cancelled(std::get<0>(result))) std::get<0>(result) = asio::error::operation_aborted;
    co_return result;
  }
  std::tuple<error_code, Ts...> result{};
  auto [timer_ec] = std::get<1>(winner);
  std::get<0>(result) = timer_ec ? timer_ec : error_code(asio::error::timed_out);
  co_return result;
}

// A single-line, bounded excerpt of a response body for an error message.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (out.size() >= kExcerptBytes) break;
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      continue;
    }
    out.push_back(c);
  }
  if (out.size() >= kExcerptBytes && body.size() > out.size()) {
    // Do not end inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out.append("...");
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The server may have closed an idle connection (FIN) or sent something
// unasked; either way it cannot carry a request. A non-blocking peek.
bool still_open(tcp::socket& socket) {
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool retryable_status(unsigned status) { return status == 502 || status == 503 || status == 504; }

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out.append(host);
  if (v6) out += ']';
  out.append(":").append(std::to_string(port));
  return out;
}

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

}  // namespace

// ---------------------------------------------------------------- Impl

struct Client::Impl {
  // A socket to an origin (or to the proxy), with TLS on top for https.
  struct Connection {
    Connection(asio::io_context& ioc, std::atomic<std::size_t>& open) : socket(ioc), open_sockets(open) {}
    ~Connection() {
      if (counted) open_sockets.fetch_sub(1, std::memory_order_relaxed);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    tcp::socket socket;  // closed by its destructor
    std::unique_ptr<ssl::stream<tcp::socket&>> tls;
    beast::flat_buffer buffer;
    bool reused = false;   // has carried a response before
    bool counted = false;  // counted in open_sockets
    std::atomic<std::size_t>& open_sockets;
  };
  using ConnectionPtr = std::unique_ptr<Connection>;

  // A caller queued for a connection to a full origin. The hand-off (conn,
  // served) happens under the mutex; the wake-up goes through a thread-safe
  // channel, so the waiter's timer is only touched by its owner.
  struct Waiter {
    explicit Waiter(const asio::any_io_executor& ex) : ready(ex, 1) {}
    asio::experimental::concurrent_channel<void(error_code)> ready;
    ConnectionPtr conn;   // null with served: a slot is free, connect yourself
    bool served = false;
  };

  struct Idle {
    ConnectionPtr conn;
    Clock::time_point since;
  };

  // One origin (scheme, host, port, proxy): its slots are its open and
  // connecting connections, idle ones included.
  struct Origin {
    std::string key;
    std::size_t slots = 0;
    std::deque<Idle> idle;  // most recently used at the back
    std::list<std::shared_ptr<Waiter>> waiters;
  };

  // A call in flight, known to stop().
  struct Call {
    explicit Call(const asio::any_io_executor& ex) : stop(ex, 1) {}
    asio::experimental::concurrent_channel<void(error_code)> stop;
    bool stopped = false;  // mutex
  };

  // A slot of an origin held by one call, with the connection in it (if
  // any yet); gives both back when destroyed.
  class Lease {
   public:
    Lease(Impl& impl, Origin& origin, ConnectionPtr c) : impl_(&impl), origin_(&origin), conn(std::move(c)) {}
    Lease(Lease&& other) noexcept
        : impl_(std::exchange(other.impl_, nullptr)), origin_(other.origin_), conn(std::move(other.conn)),
          keep(other.keep) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (impl_) impl_->release(*origin_, std::move(conn), keep);
    }

   private:
    Impl* impl_;
    Origin* origin_;

   public:
    ConnectionPtr conn;
    bool keep = false;  // the connection may carry another request
  };

  // What one call needs at every step.
  struct Exchange {
    const ClientRequest& request;
    const TargetUrl& url;
    const bhttp::request<bhttp::string_body>& message;
    std::string origin_key;
    Clock::time_point deadline;  // of the whole call
    milliseconds total;
    asio::any_io_executor executor;  // the caller's

    Budget budget(const char* step, milliseconds timeout) const {
      auto now = Clock::now();
      if (timeout.count() > 0 && now + timeout < deadline) return {now + timeout, step, timeout, false};
      return {deadline, step, total, true};
    }
  };

  struct Exchanged {
    ClientResponse response;
    bool reusable = false;
    bool stale = false;  // a reused connection failed before any response byte
  };

  struct Outcome {
    std::optional<ClientResponse> response;
    std::exception_ptr error;
  };

  Impl(asio::io_context& ioc_, ClientSettings settings_, spdlog::logger& log_)
      : ioc(ioc_),
        settings(std::move(settings_)),
        log(log_),
        max_per_origin(std::max<std::size_t>(1, settings.max_connections_per_origin)),
        rng(std::random_device{}()),
        calls_done(ioc.get_executor()),
        reaper_strand(asio::make_strand(ioc)),
        reaper_timer(reaper_strand),
        reaper_done(ioc.get_executor()) {}

  asio::awaitable<Outcome> guarded(ClientRequest& request, const TargetUrl& url);
  asio::awaitable<ClientResponse> perform(ClientRequest& request, const TargetUrl& url);
  asio::awaitable<ClientResponse> attempt(const Exchange& x);
  asio::awaitable<Lease> acquire(const Exchange& x);
  void release(Origin& origin, ConnectionPtr conn, bool keep) noexcept;
  asio::awaitable<ConnectionPtr> connect(const Exchange& x);
  asio::awaitable<tcp::resolver::results_type> resolve(const std::string& host, std::uint16_t port,
                                                       asio::steady_timer& timer, const Budget& budget,
                                                       const Exchange& x);
  asio::awaitable<void> open_tunnel(Connection& conn, asio::steady_timer& timer, const Budget& budget,
                                    const Exchange& x);
  asio::awaitable<void> handshake(Connection& conn, asio::steady_timer& timer, const Budget& budget,
                                  const Exchange& x);
  template <typename Stream>
  asio::awaitable<Exchanged> exchange(Stream& stream, Connection& conn, const Exchange& x);
  asio::awaitable<void> reap_idle();
  bhttp::request<bhttp::string_body> build_request(ClientRequest& request, const TargetUrl& url) const;
  milliseconds backoff(unsigned retry);

  asio::io_context& ioc;
  const ClientSettings settings;
  spdlog::logger& log;
  const std::size_t max_per_origin;
  std::optional<ssl::context> tls;  // built by start()
  std::optional<ProxyUrl> proxy;    // settings.use_proxy

  mutable std::mutex mutex;  // guards everything below up to the atomics
  bool running = false;
  bool stopping = false;
  std::unordered_map<std::string, Origin> origins;  // element addresses are stable
  std::size_t idle_total = 0;
  std::list<std::shared_ptr<Call>> calls;
  std::minstd_rand rng;

  std::atomic<std::size_t> open_sockets{0};
  std::atomic<std::uint64_t> requests_total{0};
  std::atomic<std::uint64_t> connections_opened_total{0};
  std::atomic<std::uint64_t> retries_total{0};
  std::atomic<std::uint64_t> failures_total{0};

  core::AsyncEvent calls_done;  // set once stopping and no call is left
  asio::strand<asio::io_context::executor_type> reaper_strand;
  asio::steady_timer reaper_timer;   // reaper_strand only
  core::AsyncEvent reaper_done;
  bool reaper_started = false;
};

// ---------------------------------------------------------------- the pool

asio::awaitable<Client::Impl::Lease> Client::Impl::acquire(const Exchange& x) {
  std::shared_ptr<Waiter> waiter;
  Origin* origin = nullptr;
  {
    std::lock_guard lock(mutex);
    if (stopping) throw ClientError(ClientPhase::stopped, "stopped: the HTTP client is stopping");
    auto [it, inserted] = origins.try_emplace(x.origin_key);
    origin = &it->second;
    if (inserted) origin->key = x.origin_key;
    if (origin->waiters.empty() && !origin->idle.empty()) {
      // LIFO: the most recently used connection is the least likely to be stale.
      ConnectionPtr conn = std::move(origin->idle.back().conn);
      origin->idle.pop_back();
      --idle_total;
      co_return Lease(*this, *origin, std::move(conn));
    }
    if (origin->waiters.empty() && origin->slots < max_per_origin) {
      ++origin->slots;
      co_return Lease(*this, *origin, nullptr);
    }
    waiter = std::make_shared<Waiter>(x.executor);
    origin->waiters.push_back(waiter);
  }

  const auto budget = x.budget("wait for a pooled connection", milliseconds(0));
  asio::steady_timer timer(x.executor, budget.at);
  auto woke = co_await (waiter->ready.async_receive(nothrow) || timer.async_wait(nothrow));
  auto ec = woke.index() == 0 ? std::get<0>(std::get<0>(woke)) : std::get<0>(std::get<1>(woke));
  const bool was_cancelled = cancelled(ec);
  bool served = false;
  ConnectionPtr conn;
  {
    std::lock_guard lock(mutex);
    served = waiter->served;
    conn = std::move(waiter->conn);
    if (!served) origin->waiters.remove(waiter);
  }
  if (served) {
    Lease lease(*this, *origin, std::move(conn));
    lease.keep = true;  // if we leave, the connection goes to the next waiter
    if (was_cancelled) throw_cancelled();
    lease.keep = false;
    co_return lease;
  }
  if (was_cancelled) throw_cancelled();
  throw AttemptError(ClientPhase::timeout,
                     budget.expired().what() + std::string(" (") + std::to_string(max_per_origin) +
                         " connections to " + x.url.authority + " busy)",
                     false);
}

void Client::Impl::release(Origin& origin, ConnectionPtr conn, bool keep) noexcept {
  ConnectionPtr doomed;
  {
    std::lock_guard lock(mutex);
    if (conn && keep && !stopping) {
      conn->reused = true;
      if (!origin.waiters.empty()) {
        auto next = std::move(origin.waiters.front());
        origin.waiters.pop_front();
        next->conn = std::move(conn);
        next->served = true;
        next->ready.try_send(error_code{});
        return;
      }
      origin.idle.push_back(Idle{std::move(conn), Clock::now()});
      ++idle_total;
      return;
    }
    doomed = std::move(conn);
    if (!stopping && !origin.waiters.empty()) {
      // The slot goes to the next waiter, who connects.
      auto next = std::move(origin.waiters.front());
      origin.waiters.pop_front();
      next->served = true;
      next->ready.try_send(error_code{});
    } else if (--origin.slots == 0 && origin.waiters.empty()) {
      origins.erase(origin.key);
    }
  }
  // `doomed` closes its socket here, outside the mutex.
}

// Closes keep-alive connections idle for longer than idle_timeout. Runs on
// reaper_strand from start() to stop().
asio::awaitable<void> Client::Impl::reap_idle() {
  for (;;) {
    std::vector<ConnectionPtr> doomed;
    Clock::time_point wake;
    {
      std::lock_guard lock(mutex);
      if (stopping) co_return;
      const auto now = Clock::now();
      wake = now + settings.idle_timeout;
      for (auto it = origins.begin(); it != origins.end();) {
        Origin& o = it->second;
        while (!o.idle.empty() && o.idle.front().since + settings.idle_timeout <= now) {
          doomed.push_back(std::move(o.idle.front().conn));
          o.idle.pop_front();
          --idle_total;
          --o.slots;
        }
        if (!o.idle.empty()) wake = std::min(wake, o.idle.front().since + settings.idle_timeout);
        it = o.slots == 0 && o.waiters.empty() ? origins.erase(it) : std::next(it);
      }
    }
    if (!doomed.empty()) log.debug("closed {} idle HTTP client connections", doomed.size());
    doomed.clear();
    reaper_timer.expires_at(wake);
    co_await reaper_timer.async_wait(nothrow);
  }
}

// ---------------------------------------------------------------- connecting

asio::awaitable<tcp::resolver::results_type> Client::Impl::resolve(const std::string& host, std::uint16_t port,
                                                                    asio::steady_timer& timer, const Budget& budget,
                                                                    const Exchange& x) {
  // getaddrinfo cannot be cancelled: on timeout or cancellation the lookup
  // is abandoned and finishes on its own, holding only its shared state.
  struct Lookup {
    Lookup(asio::io_context& ioc, const asio::any_io_executor& ex) : resolver(ioc), done(ex, 1) {}
    tcp::resolver resolver;
    asio::experimental::concurrent_channel<void(error_code, tcp::resolver::results_type)> done;
  };
  auto lookup = std::make_shared<Lookup>(ioc, x.executor);
  lookup->resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                                 [lookup](const error_code& ec, tcp::resolver::results_type results) {
                                   lookup->done.try_send(ec, std::move(results));
                                 });
  auto [ec, results] = co_await race(lookup->done.async_receive(nothrow), timer);
  if (ec == asio::error::operation_aborted) throw_cancelled();
  if (ec == asio::error::timed_out) throw budget.expired();
  if (ec) throw AttemptError(ClientPhase::resolve, "resolve: " + ec.message() + " (" + host + ")", true);
  co_return results;
}

asio::awaitable<Client::Impl::ConnectionPtr> Client::Impl::connect(const Exchange& x) {
  const auto budget = x.budget("connect", settings.connect_timeout);
  asio::steady_timer timer(x.executor, budget.at);
  const bool via_proxy = proxy.has_value();
  const std::string& host = via_proxy ? proxy->host : x.url.host;
  const std::uint16_t port = via_proxy ? proxy->port : x.url.port;
  const bool ip_literal = via_proxy ? proxy->ip_literal : x.url.ip_literal;
  std::string where(via_proxy ? "proxy " : "");
  where.append(host_port(host, port));

  std::vector<tcp::endpoint> endpoints;
  if (ip_literal) {
    endpoints.emplace_back(asio::ip::make_address(host), port);
  } else {
    Budget step = budget;
    step.step = "resolve";
    auto results = co_await resolve(host, port, timer, step, x);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  auto conn = std::make_unique<Connection>(ioc, open_sockets);
  auto [ec, endpoint] = co_await race(asio::async_connect(conn->socket, endpoints, nothrow), timer);
  if (ec == asio::error::operation_aborted) throw_cancelled();
  if (ec == asio::error::timed_out) throw budget.expired();
  if (ec) throw AttemptError(ClientPhase::connect, "connect: " + ec.message() + " (" + where + ")", true);
  conn->counted = true;
  open_sockets.fetch_add(1, std::memory_order_relaxed);
  connections_opened_total.fetch_add(1, std::memory_order_relaxed);
  error_code ignored;
  conn->socket.set_option(tcp::no_delay(true), ignored);

  if (via_proxy && x.url.tls) co_await open_tunnel(*conn, timer, budget, x);
  if (x.url.tls) co_await handshake(*conn, timer, budget, x);
  co_return conn;
}

// CONNECT host:port through the proxy; TLS then runs inside the tunnel.
asio::awaitable<void> Client::Impl::open_tunnel(Connection& conn, asio::steady_timer& timer, const Budget& budget,
                                                const Exchange& x) {
  Budget step = budget;
  step.step = "proxy CONNECT";
  const std::string authority = host_port(x.url.host, x.url.port);
  std::string head = "CONNECT ";
  head.append(authority).append(" HTTP/1.1\r\nHost: ").append(authority).append("\r\n");
  if (proxy->authorization) head.append("Proxy-Authorization: ").append(*proxy->authorization).append("\r\n");
  head.append("User-Agent: ").append(settings.user_agent).append("\r\n\r\n");
  auto [write_ec, written] = co_await race(asio::async_write(conn.socket, asio::buffer(head), nothrow), timer);
  const std::string context = " (CONNECT " + authority + " via " + proxy->display + ")";
  if (write_ec == asio::error::operation_aborted) throw_cancelled();
  if (write_ec == asio::error::timed_out) throw step.expired();
  if (write_ec) throw AttemptError(ClientPhase::proxy, "proxy: " + write_ec.message() + context, true);

  bhttp::response_parser<bhttp::empty_body> parser;
  parser.header_limit(kProxyHeaderLimit);
  parser.skip(true);  // a 2xx answer to CONNECT has no body; the tunnel starts after the header
  auto [read_ec, n] = co_await race(bhttp::async_read_header(conn.socket, conn.buffer, parser, nothrow), timer);
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

asio::awaitable<void> Client::Impl::handshake(Connection& conn, asio::steady_timer& timer, const Budget& budget,
                                              const Exchange& x) {
  Budget step = budget;
  step.step = "tls handshake";
  conn.tls = std::make_unique<ssl::stream<tcp::socket&>>(conn.socket, *tls);
  SSL* handle = conn.tls->native_handle();
  const std::string& host = x.url.host;
  bool configured = false;
  if (x.url.ip_literal) {
    // No SNI for addresses (RFC 6066); the certificate must name the IP.
    configured = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), host.c_str()) == 1;
  } else {
    configured = SSL_set_tlsext_host_name(handle, host.c_str()) == 1 && SSL_set1_host(handle, host.c_str()) == 1;
  }
  if (!configured) throw AttemptError(ClientPhase::tls, "tls: cannot set up verification for " + host, false);
  auto [ec] = co_await race(conn.tls->async_handshake(ssl::stream_base::client, nothrow), timer);
  if (ec == asio::error::operation_aborted) throw_cancelled();
  if (ec == asio::error::timed_out) throw step.expired();
  if (ec) {
    bool verify_failed = false;
    std::string reason = tls_reason(ec, handle, verify_failed);
    // A certificate that fails verification fails again: not worth a retry.
    throw AttemptError(ClientPhase::tls, "tls: " + reason + " (" + x.url.authority + ")", !verify_failed);
  }
}

// ---------------------------------------------------------------- one request on one connection

template <typename Stream>
asio::awaitable<Client::Impl::Exchanged> Client::Impl::exchange(Stream& stream, Connection& conn, const Exchange& x) {
  Exchanged out;
  auto budget = x.budget("write", settings.read_timeout);
  asio::steady_timer timer(x.executor, budget.at);
  auto [write_ec, written] = co_await race(bhttp::async_write(stream, x.message, nothrow), timer);
  if (write_ec == asio::error::operation_aborted) throw_cancelled();
  if (write_ec == asio::error::timed_out) throw budget.expired();
  if (write_ec && conn.reused) {
    out.stale = true;
    co_return out;
  }
  if (write_ec) throw AttemptError(ClientPhase::write, "write: " + write_ec.message() + " (" + x.url.authority + ")", true);

  const std::size_t limit = settings.max_response_bytes;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  std::size_t consumed = 0;  // header and body bytes, interim responses included
  for (;;) {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limit, UINT32_MAX)));
    parser->body_limit(limit);
    if (x.request.method == Verb::head) parser->skip(true);
    while (!parser->is_done()) {
      budget = x.budget("read", settings.read_timeout);
      timer.expires_at(budget.at);
      auto [ec, n] = co_await race(bhttp::async_read_some(stream, conn.buffer, *parser, nothrow), timer);
      consumed += n;
      if (!ec && consumed > limit) ec = bhttp::error::body_limit;
      // TLS peers that end a read-until-close body without close_notify.
      if (ec == ssl::error::stream_truncated && parser->got_some() && parser->need_eof()) {
        ec = {};
        parser->put_eof(ec);
        if (!ec) break;
      }
      if (!ec) continue;
      if (ec == asio::error::operation_aborted) throw_cancelled();
      if (ec == asio::error::timed_out) throw budget.expired();
      if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        throw AttemptError(ClientPhase::body_too_large,
                           "body_too_large: the response from " + x.url.authority + " exceeds " +
                               std::to_string(limit) + " bytes",
                           false);
      }
      if (conn.reused && consumed == 0 && !parser->got_some()) {
        out.stale = true;
        co_return out;
      }
      std::string what = ec == bhttp::error::end_of_stream ? std::string("connection closed before the response")
                                                           : ec.message();
      throw AttemptError(ClientPhase::read, "read: " + what + " (" + x.url.authority + ")", true);
    }
    // Interim answers (100 Continue, 103 Early Hints) precede the response.
    const unsigned status = parser->get().result_int();
    if (status / 100 != 1 || status == 101) break;
  }

  auto& res = parser->get();
  out.reusable = res.keep_alive() && !parser->need_eof() && conn.buffer.size() == 0;
  out.response.status = res.result_int();
  out.response.content_type = res[bhttp::field::content_type];
  out.response.headers.reserve(static_cast<std::size_t>(std::distance(res.begin(), res.end())));
  for (const auto& field : res) out.response.headers.emplace_back(field.name_string(), field.value());
  out.response.body = std::move(res.body());
  co_return out;
}

asio::awaitable<ClientResponse> Client::Impl::attempt(const Exchange& x) {
  Lease lease = co_await acquire(x);
  if (lease.conn && !still_open(lease.conn->socket)) lease.conn.reset();  // closed while idle
  for (;;) {
    if (!lease.conn) lease.conn = co_await connect(x);
    Connection& conn = *lease.conn;
    Exchanged result;
    if (conn.tls) {
      result = co_await exchange(*conn.tls, conn, x);
    } else {
      result = co_await exchange(conn.socket, conn, x);
    }
    if (result.stale) {
      // The server closed the kept-alive connection as we reused it; the
      // request never reached its application: once more, on a new one.
      log.debug("HTTP client: a kept-alive connection to {} was closed by the server; reconnecting", x.url.authority);
      lease.conn.reset();
      continue;
    }
    lease.keep = result.reusable;
    co_return std::move(result.response);
  }
}

// ---------------------------------------------------------------- a call

bhttp::request<bhttp::string_body> Client::Impl::build_request(ClientRequest& request, const TargetUrl& url) const {
  const bool absolute_form = proxy && !url.tls;
  bhttp::request<bhttp::string_body> message{request.method, absolute_form ? url.absolute() : url.target, 11};
  message.set(bhttp::field::host, url.authority);
  message.set(bhttp::field::user_agent, settings.user_agent);
  message.set(bhttp::field::accept, "application/json");
  message.set(bhttp::field::connection, "keep-alive");
  if (absolute_form && proxy->authorization) message.set(bhttp::field::proxy_authorization, *proxy->authorization);
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || has_line_break(name) || has_line_break(value))
      throw ClientError(ClientPhase::write, "write: request header \"" + excerpt(name) + "\" is empty or has a line break");
    message.set(name, value);
  }
  if (!request.body.empty()) {
    message.set(bhttp::field::content_type, request.content_type);
    message.body() = std::move(request.body);
  }
  message.prepare_payload();
  return message;
}

// Full jitter over [0.5, 1] of base * 2^retry.
milliseconds Client::Impl::backoff(unsigned retry) {
  const double base = static_cast<double>(settings.retry_backoff.count()) * static_cast<double>(1ULL << std::min(retry, 20u));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  std::lock_guard lock(mutex);
  return milliseconds(static_cast<long long>(base * jitter(rng)));
}

asio::awaitable<ClientResponse> Client::Impl::perform(ClientRequest& request, const TargetUrl& url) {
  const auto total = request.timeout.count() > 0 ? request.timeout : settings.total_timeout;
  const auto deadline = Clock::now() + total;
  auto executor = co_await asio::this_coro::executor;
  std::string key(url.tls ? "https://" : "http://");
  key.append(host_port(url.host, url.port));
  if (proxy) key.append(" via ").append(proxy->display);
  auto message = build_request(request, url);  // takes the body
  const Exchange x{request, url, message, std::move(key), deadline, total, std::move(executor)};

  for (unsigned attempt_no = 1;; ++attempt_no) {
    std::optional<ClientResponse> response;
    std::optional<AttemptError> failure;
    try {
      response = co_await attempt(x);
    } catch (const AttemptError& e) {
      failure = e;
    }
    if (response && response->status / 100 == 2) {
      response->attempts = attempt_no;
      co_return std::move(*response);
    }
    if (response) {
      std::string message_text = "status " + std::to_string(response->status);
      auto body = excerpt(response->body);
      if (!body.empty()) message_text.append(": ").append(body);
      failure.emplace(ClientPhase::status, std::move(message_text), retryable_status(response->status),
                      response->status);
    }
    bool retry = request.retry_safe && failure->retryable && attempt_no <= settings.max_retries;
    milliseconds pause{0};
    if (retry) {
      pause = backoff(attempt_no - 1);
      retry = Clock::now() + pause < x.deadline;  // never sleep past the deadline
    }
    if (!retry) {
      if (attempt_no == 1) throw ClientError(*failure);
      std::string text = failure->what();
      text.append(" (after ").append(std::to_string(attempt_no)).append(" attempts)");
      throw ClientError(failure->phase(), std::move(text), failure->status());
    }
    retries_total.fetch_add(1, std::memory_order_relaxed);
    log.debug("HTTP client: {} {} attempt {} failed: {}; retrying in {} ms", std::string_view(bhttp::to_string(request.method)),
              url.authority, attempt_no, failure->what(), pause.count());
    asio::steady_timer timer(x.executor, pause);
    auto [ec] = co_await timer.async_wait(nothrow);
    if (ec) throw_cancelled();
  }
}

asio::awaitable<Client::Impl::Outcome> Client::Impl::guarded(ClientRequest& request, const TargetUrl& url) {
  Outcome out;
  try {
    out.response = co_await perform(request, url);
  } catch (...) {
    out.error = std::current_exception();
  }
  co_return out;
}

// ---------------------------------------------------------------- Client

Client::Client(asio::io_context& ioc, ClientSettings settings, spdlog::logger& log)
    : impl_(std::make_unique<Impl>(ioc, std::move(settings), log)) {}

Client::~Client() = default;

asio::awaitable<void> Client::start() {
  Impl& im = *impl_;
  ssl::context context(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.set_verify_mode(ssl::verify_peer);
  context.set_default_verify_paths();
  if (!im.settings.ca_file.empty()) {
    error_code ec;
    context.load_verify_file(im.settings.ca_file, ec);
    if (ec)
      throw std::runtime_error("UPSTREAM_CA_FILE: cannot load CA certificates from \"" + im.settings.ca_file +
                               "\": " + ec.message());
  }
  if (im.settings.use_proxy) {
    if (im.settings.proxy_url.empty()) throw std::runtime_error("USE_ORIGIN_PROXY is set but ORIGIN_PROXY_URL is empty");
    try {
      im.proxy = parse_proxy_url(im.settings.proxy_url);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string("ORIGIN_PROXY_URL: ").append(e.what()));
    }
  }
  im.tls.emplace(std::move(context));
  {
    std::lock_guard lock(im.mutex);
    im.running = true;
    im.reaper_started = true;
  }
  asio::co_spawn(im.reaper_strand, im.reap_idle(), [&im](std::exception_ptr e) {
    if (e) im.log.error("HTTP client idle reaper ended with an exception");
    im.reaper_done.set();
  });
  im.log.info("HTTP client ready: up to {} connections per origin, {}{}", im.max_per_origin,
              im.proxy ? "through proxy " : "direct", im.proxy ? im.proxy->display : std::string());
  co_return;
}

asio::awaitable<void> Client::stop() {
  Impl& im = *impl_;
  std::vector<Impl::ConnectionPtr> closing;
  std::vector<std::shared_ptr<Impl::Call>> cancelling;
  bool reaper = false;
  {
    std::lock_guard lock(im.mutex);
    im.stopping = true;
    im.running = false;
    for (auto it = im.origins.begin(); it != im.origins.end();) {
      auto& o = it->second;
      for (auto& idle : o.idle) closing.push_back(std::move(idle.conn));
      o.slots -= o.idle.size();
      o.idle.clear();
      it = o.slots == 0 && o.waiters.empty() ? im.origins.erase(it) : std::next(it);
    }
    im.idle_total = 0;
    for (auto& call : im.calls) {
      call->stopped = true;
      cancelling.push_back(call);
    }
    if (im.calls.empty()) im.calls_done.set();
    reaper = im.reaper_started;
  }
  for (auto& call : cancelling) call->stop.try_send(error_code{});
  const std::size_t idle = closing.size();
  closing.clear();
  if (reaper) {
    asio::post(im.reaper_strand, [&im] { im.reaper_timer.cancel(); });
    co_await im.reaper_done.wait();
  }
  bool unwound = co_await im.calls_done.wait_for(kUnwindWait);
  if (!unwound) im.log.error("HTTP client: calls still running {} ms after stop", count_ms(kUnwindWait));
  auto s = stats();
  im.log.info("HTTP client stopped: closed {} idle connections, cancelled {} calls; {} requests, {} connections, {} "
              "retries, {} failures over its life",
              idle, cancelling.size(), s.requests_total, s.connections_opened_total, s.retries_total,
              s.failures_total);
}

asio::awaitable<ClientResponse> Client::send(ClientRequest request) {
  Impl& im = *impl_;
  auto executor = co_await asio::this_coro::executor;
  auto call = std::make_shared<Impl::Call>(executor);
  std::list<std::shared_ptr<Impl::Call>>::iterator registered;
  {
    std::lock_guard lock(im.mutex);
    if (!im.running)
      throw ClientError(ClientPhase::stopped, im.stopping ? "stopped: the HTTP client is stopping or stopped"
                                                          : "stopped: the HTTP client is not started");
    registered = im.calls.insert(im.calls.end(), call);
  }
  im.requests_total.fetch_add(1, std::memory_order_relaxed);
  // Leaves the registry on every way out; the last call out after stop() wakes it.
  struct Registration {
    Impl& im;
    std::list<std::shared_ptr<Impl::Call>>::iterator it;
    ~Registration() {
      std::lock_guard lock(im.mutex);
      im.calls.erase(it);
      if (im.stopping && im.calls.empty()) im.calls_done.set();
    }
  } registration{im, registered};

  std::optional<TargetUrl> url;
  std::exception_ptr error;
  try {
    url = parse_target_url(request.url);
  } catch (const ClientError&) {
    error = std::current_exception();
  }
  std::optional<ClientResponse> response;
  bool interrupted = false;
  if (url) {
    auto watch_stop = [](std::shared_ptr<Impl::Call> c) -> asio::awaitable<void> {
      co_await c->stop.async_receive(nothrow);
    };
    auto winner = co_await (im.guarded(request, *url) || watch_stop(call));
    if (winner.index() == 0) {
      auto& outcome = std::get<0>(winner);
      response = std::move(outcome.response);
      error = outcome.error;
    } else {
      interrupted = true;  // by stop() or by our caller: see below
    }
  }
  bool stopped = false;
  {
    std::lock_guard lock(im.mutex);
    stopped = call->stopped;
  }
  if (response) co_return std::move(*response);
  if (stopped) {
    im.failures_total.fetch_add(1, std::memory_order_relaxed);
    throw ClientError(ClientPhase::stopped, "stopped: the HTTP client stopped during the call to " + url->authority);
  }
  if (interrupted || !error) throw_cancelled();
  try {
    std::rethrow_exception(error);
  } catch (const ClientError&) {
    im.failures_total.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
}

Client::Stats Client::stats() const {
  const Impl& im = *impl_;
  Stats s{};
  {
    std::lock_guard lock(im.mutex);
    s.idle_connections = im.idle_total;
    s.in_flight = im.calls.size();
  }
  s.open_connections = im.open_sockets.load(std::memory_order_relaxed);
  s.requests_total = im.requests_total.load(std::memory_order_relaxed);
  s.connections_opened_total = im.connections_opened_total.load(std::memory_order_relaxed);
  s.retries_total = im.retries_total.load(std::memory_order_relaxed);
  s.failures_total = im.failures_total.load(std::memory_order_relaxed);
  return s;
}

}  // namespace svc::http

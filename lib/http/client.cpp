#include "lib/http/client.hpp"

#include <list>
#include <mutex>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/async_event.hpp"
#include "lib/core/backoff.hpp"
#include "lib/core/with_timer.hpp"
#include "lib/http/client_attempt.hpp"
#include "lib/http/client_connect.hpp"
#include "lib/http/client_pool.hpp"
#include "lib/http/client_round_trip.hpp"
#include "lib/http/client_url.hpp"
#include "lib/http/retry_after.hpp"
#include "lib/lifecycle/stop_deadline.hpp"

namespace svc::http {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using core::nothrow;
using detail::AttemptError;
using detail::CallPlan;
using detail::Clock;
using detail::throw_cancelled;
using std::chrono::milliseconds;
namespace bhttp = boost::beast::http;

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

ClientError::ClientError(ClientPhase phase, std::string message, unsigned status,
                         std::optional<std::chrono::seconds> retry_after)
    : std::runtime_error(with_phase(phase, std::move(message))),
      phase_(phase),
      status_(status),
      retry_after_(retry_after) {}

std::string_view ClientResponse::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers)
    if (boost::beast::iequals(key, name)) return value;
  return {};
}

// ---------------------------------------------------------------- Impl

namespace {

// How long stop() waits for cancelled calls to unwind before it gives up on
// them; within a shutdown, never past its hard deadline (StopDeadline).
constexpr auto kUnwindWait = std::chrono::seconds(5);
// The retry backoff's cap: a multiple of UPSTREAM_RETRY_BACKOFF, within the call's total timeout anyway.
constexpr int kBackoffCapFactor = 64;

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

struct Client::Impl {
  // A call in flight, known to stop().
  struct Call {
    explicit Call(const asio::any_io_executor& ex) : stop(ex, 1) {}
    asio::experimental::concurrent_channel<void(error_code)> stop;
    bool stopped = false;  // mutex
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
        pools(max_per_origin, std::max<std::size_t>(1, settings.max_waiters)),
        calls_done(ioc.get_executor()),
        reaper_strand(asio::make_strand(ioc)),
        reaper_timer(reaper_strand),
        reaper_done(ioc.get_executor()) {}

  asio::awaitable<Outcome> guarded(ClientRequest& request, const TargetUrl& url);
  asio::awaitable<ClientResponse> perform(ClientRequest& request, const TargetUrl& url);
  asio::awaitable<ClientResponse> attempt(const CallPlan& plan);
  asio::awaitable<void> reap_idle();
  boost::beast::http::request<boost::beast::http::string_body> build_request(ClientRequest& request,
                                                                            const TargetUrl& url) const;
  detail::Connector connector() {
    return {ioc, settings, *tls, proxy, open_sockets, connections_opened_total};
  }

  asio::io_context& ioc;
  const ClientSettings settings;
  spdlog::logger& log;
  const std::size_t max_per_origin;
  std::optional<ssl::context> tls;  // built by start()
  std::optional<ProxyUrl> proxy;    // settings.use_proxy
  detail::OriginPools pools;

  mutable std::mutex mutex;  // guards the calls and running/stopping
  bool running = false;
  bool stopping = false;
  std::list<std::shared_ptr<Call>> calls;

  std::atomic<std::size_t> open_sockets{0};
  std::atomic<std::uint64_t> requests_total{0};
  std::atomic<std::uint64_t> connections_opened_total{0};
  std::atomic<std::uint64_t> retries_total{0};
  std::atomic<std::uint64_t> failures_total{0};

  core::AsyncEvent calls_done;  // set once stopping and no call is left
  asio::strand<asio::io_context::executor_type> reaper_strand;
  asio::steady_timer reaper_timer;  // reaper_strand only
  core::AsyncEvent reaper_done;
  bool reaper_started = false;
};

// Closes keep-alive connections idle for longer than idle_timeout. Runs on
// reaper_strand from start() to stop().
asio::awaitable<void> Client::Impl::reap_idle() {
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (stopping) co_return;
    }
    std::vector<detail::ConnectionPtr> doomed;
    const auto wake = pools.reap(Clock::now(), settings.idle_timeout, doomed);
    if (!doomed.empty()) log.debug("closed {} idle HTTP client connections", doomed.size());
    doomed.clear();
    reaper_timer.expires_at(wake);
    co_await reaper_timer.async_wait(nothrow);
  }
}

// One attempt: a pooled connection (or a new one), one round trip.
asio::awaitable<ClientResponse> Client::Impl::attempt(const CallPlan& plan) {
  auto lease = co_await pools.acquire(plan);
  if (lease.connection() != nullptr && !lease.connection()->still_open()) lease.drop();  // closed while idle
  for (;;) {
    if (lease.connection() == nullptr) lease.adopt(co_await connector().connect(plan));
    auto result = co_await detail::round_trip(*lease.connection(), plan, settings);
    if (result.stale) {
      // The server closed the kept-alive connection as we reused it; the
      // request never reached its application: once more, on a new one.
      log.debug("HTTP client: a kept-alive connection to {} was closed by the server; reconnecting",
                plan.url.authority);
      lease.drop();
      continue;
    }
    lease.keep(result.reusable);
    co_return std::move(result.response);
  }
}

// ---------------------------------------------------------------- a call

bhttp::request<bhttp::string_body> Client::Impl::build_request(ClientRequest& request, const TargetUrl& url) const {
  const bool absolute_form = proxy && !url.tls;
  bhttp::request<bhttp::string_body> message{request.method, absolute_form ? url.absolute() : url.target, 11};
  message.set(bhttp::field::host, url.authority);
  if (!settings.user_agent.empty()) message.set(bhttp::field::user_agent, settings.user_agent);
  message.set(bhttp::field::accept, "application/json");
  message.set(bhttp::field::connection, "keep-alive");
  if (absolute_form && proxy->authorization) message.set(bhttp::field::proxy_authorization, *proxy->authorization);
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || has_line_break(name) || has_line_break(value))
      throw ClientError(ClientPhase::write, "write: request header \"" + detail::excerpt(name) + "\" is empty or has a line break");
    message.set(name, value);
  }
  if (!request.body.empty()) {
    message.set(bhttp::field::content_type, request.content_type);
    message.body() = std::move(request.body);
  }
  message.prepare_payload();
  return message;
}

asio::awaitable<ClientResponse> Client::Impl::perform(ClientRequest& request, const TargetUrl& url) {
  const auto total = request.timeout.count() > 0 ? request.timeout : settings.total_timeout;
  const auto deadline = Clock::now() + total;
  auto executor = co_await asio::this_coro::executor;
  std::string key(url.tls ? "https://" : "http://");
  key.append(detail::host_port(url.host, url.port));
  if (proxy) key.append(" via ").append(proxy->display);
  auto message = build_request(request, url);  // takes the body
  const CallPlan x{request, url, message, std::move(key), deadline, total, std::move(executor)};
  core::Backoff backoff(settings.retry_backoff, settings.retry_backoff * kBackoffCapFactor);

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
      auto body = detail::excerpt(response->body);
      if (!body.empty()) message_text.append(": ").append(body);
      failure.emplace(ClientPhase::status, std::move(message_text), detail::retryable_status(response->status),
                      response->status,
                      parse_retry_after(response->header("Retry-After"), std::chrono::system_clock::now()));
    }
    bool retry = request.retry_safe && failure->retryable && attempt_no <= settings.max_retries;
    milliseconds pause{0};
    if (retry) {
      pause = std::chrono::duration_cast<milliseconds>(backoff.next());
      retry = Clock::now() + pause < x.deadline;  // never sleep past the deadline
    }
    if (!retry) {
      if (attempt_no == 1) throw ClientError(*failure);
      std::string text = failure->what();
      text.append(" (after ").append(std::to_string(attempt_no)).append(" attempts)");
      throw ClientError(failure->phase(), std::move(text), failure->status(), failure->retry_after());
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
  std::vector<std::shared_ptr<Impl::Call>> cancelling;
  bool reaper = false;
  {
    std::lock_guard lock(im.mutex);
    im.stopping = true;
    im.running = false;
    for (auto& call : im.calls) {
      call->stopped = true;
      cancelling.push_back(call);
    }
    if (im.calls.empty()) im.calls_done.set();
    reaper = im.reaper_started;
  }
  auto closing = im.pools.close();  // and fails the calls waiting for a connection
  for (auto& call : cancelling) call->stop.try_send(error_code{});
  const std::size_t idle = closing.size();
  closing.clear();
  if (reaper) {
    asio::post(im.reaper_strand, [&im] { im.reaper_timer.cancel(); });
    co_await im.reaper_done.wait();
  }
  const auto until = svc::lifecycle::StopDeadline::of(im.ioc).unwind_until(kUnwindWait);
  bool unwound = co_await im.calls_done.wait_for(until - Clock::now());
  if (!unwound) im.log.error("HTTP client: calls still running at the end of its stop bound; abandoning them");
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
    s.in_flight = im.calls.size();
  }
  s.idle_connections = im.pools.idle();
  s.open_connections = im.open_sockets.load(std::memory_order_relaxed);
  s.requests_total = im.requests_total.load(std::memory_order_relaxed);
  s.connections_opened_total = im.connections_opened_total.load(std::memory_order_relaxed);
  s.retries_total = im.retries_total.load(std::memory_order_relaxed);
  s.failures_total = im.failures_total.load(std::memory_order_relaxed);
  return s;
}

}  // namespace svc::http

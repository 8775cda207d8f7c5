#include "lib/http/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/backoff.hpp"
#include "lib/core/random.hpp"
#include "lib/http/compression.hpp"
#include "lib/http/conditional.hpp"
#include "lib/http/date_cache.hpp"
#include "lib/http/errors.hpp"
#include "lib/http/request_id.hpp"
#include "lib/http/request_parsing.hpp"
#include "lib/http/target.hpp"
#include "lib/telemetry/logging.hpp"
#include "lib/telemetry/trace_context.hpp"

namespace svc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// After our last response, read and discard what the client still sends for a
// moment: closing a socket with unread input makes the kernel send RST, which
// can destroy the response (a 413 or 431) before the client reads it.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr std::size_t kLingerBytes = 256 * 1024;
// How long terminally cancelled sessions get to unwind after the grace period.
constexpr auto kUnwindTime = std::chrono::seconds(2);
// After a failed accept (EMFILE: the file table is full) the loop pauses,
// doubling from 10 ms to 1 s, and tries again: no spinning, no giving up,
// the open connections are served meanwhile (docs/http-server.md).
constexpr auto kAcceptBackoffFirst = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoffMax = std::chrono::seconds(1);
// What repeats once per connection is logged once per interval.
constexpr auto kEpisodeLogInterval = std::chrono::seconds(10);
// Between requests a connection keeps at most this much of it.
constexpr std::size_t kIdleBufferBytes = 4096;
// Descriptors the process needs besides its client connections (listener,
// database, event loops, logs), for the start-up check of MAX_CONNECTIONS.
constexpr std::size_t kReservedDescriptors = 64;

long long ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

bool is_disconnect(const boost::system::error_code& ec) {
  return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::broken_pipe || ec == beast::http::error::partial_message;
}

// What the server itself adds to every response, written straight into the
// header rather than through Beast's field container (an allocation and a
// case-insensitive search each).
struct ServerFields {
  int version;  // 10 or 11
  std::size_t content_length;
  std::string_view date;
  std::string_view request_id;
  bool keep_alive;
};

// The status line and fields as Beast's serializer writes them, into a buffer
// the session reuses. Beast's generic buffer-sequence serializer cost about 8%
// of the CPU of a /health request (docs/benchmarks.md).
void serialize_header(const Response& res, const ServerFields& add, std::string& out) {
  out.clear();
  out += add.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  const unsigned status = res.result_int();
  const char code[4] = {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                        static_cast<char>('0' + status % 10), ' '};
  out.append(code, sizeof code);
  auto reason = res.reason();
  out.append(reason.data(), reason.size());
  out += "\r\n";
  auto line = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  for (const auto& field : res.base()) {
    auto name = field.name_string();
    // Ours below; a handler's copy would be a duplicate.
    if (field.name() == bhttp::field::content_length || field.name() == bhttp::field::connection ||
        field.name() == bhttp::field::date || beast::iequals(name, "X-Request-ID"))
      continue;
    line({name.data(), name.size()}, {field.value().data(), field.value().size()});
  }
  // RFC 9110 §8.6: none on a 204, and a 304's would describe the body it
  // does not carry.
  if (status != 204 && status != 304) {
    char length[24];
    auto length_end = std::to_chars(length, length + sizeof length, add.content_length).ptr;
    line("Content-Length", {length, static_cast<std::size_t>(length_end - length)});
  }
  line("Date", add.date);
  line("X-Request-ID", add.request_id);
  // HTTP/1.1 is persistent unless told otherwise; HTTP/1.0 the other way round.
  if (add.version == 10 && add.keep_alive) line("Connection", "keep-alive");
  if (add.version != 10 && !add.keep_alive) line("Connection", "close");
  out += "\r\n";
}

// A condition that repeats once per connection (at MAX_CONNECTIONS, accept
// failing) is logged when it starts, every kEpisodeLogInterval while it lasts
// and when it ends, never once per connection. The accept loop's strand only.
struct Episode {
  bool active = false;
  Clock::time_point started, last_line;
  std::uint64_t count = 0;       // in this episode
  std::uint64_t since_line = 0;  // since the last log line
  // Counts one; true when a log line is due (the first, or an interval on).
  bool occur(Clock::time_point now) {
    ++count;
    ++since_line;
    if (active && now - last_line < kEpisodeLogInterval) return false;
    if (!active) started = now;
    active = true;
    last_line = now;
    return true;
  }
  // Ends it: how many it counted (0: none was going on).
  std::uint64_t end() {
    if (!active) return 0;
    active = false;
    since_line = 0;
    return std::exchange(count, 0);
  }
  std::uint64_t take_since_line() { return std::exchange(since_line, 0); }
};

}  // namespace

struct Server::Episodes {
  Episode over_cap;
  Episode accept_failing;
};

// What the server knows about the request it is handling, for the handler,
// the observer and the log lines.
struct Server::Handled {
  // The request is parsed in place: the handler's Request is the parser's message.
  bhttp::request_parser<bhttp::string_body> parser;
  const Request& request() const { return parser.get(); }
  Target target;                  // path and query
  Router::Match match;            // found at the header, before any body byte is read
  bool close_after = false;       // a body was left unread: the connection cannot go on
  std::string_view request_id;
  std::string_view trace_id;
  std::string_view traceparent;   // to propagate upstream
  std::string_view route;         // the matched template; "" when none matched
  std::string_view path;          // without the query (never logged with it: it may carry anything)
  Clock::time_point started;
  std::chrono::system_clock::time_point started_wall;
};

struct Server::Session {
  Session(tcp::socket sock, std::uint64_t seed, std::size_t buffer_limit)
      : socket(std::move(sock)),
        watchdog(socket.get_executor()),
        buffer(buffer_limit),
        ids(seed),
        traces(seed ^ 0x5bd1e9955bd1e995ULL) {}

  // Arms the deadline for the reads or writes that follow (like Beast's
  // tcp_stream::expires_after, but only two stores: watch_deadline() checks).
  void arm(std::chrono::milliseconds timeout) {
    deadline = Clock::now() + timeout;
    timed_out = false;
    io_pending = true;
    // Rare: only a deadline earlier than the watchdog's wake-up moves the timer.
    if (deadline < watchdog_at) {
      watchdog_at = deadline;
      watchdog.expires_at(deadline);
    }
  }
  // After an operation: its error, with the watchdog's cancellation reported as a timeout.
  boost::system::error_code disarm(boost::system::error_code ec) {
    io_pending = false;
    return timed_out && ec == asio::error::operation_aborted ? beast::error::timeout : ec;
  }

  tcp::socket socket;
  asio::steady_timer watchdog;        // see Server::watch_deadline
  beast::flat_buffer buffer;          // max_size: read_buffer_limit()
  asio::cancellation_signal cancel;  // emitted on the session's loop only
  RequestIdGenerator ids;
  telemetry::TraceIdGenerator traces;
  DateCache date;
  std::string head;                   // the response header being written, reused
  // The session's loop only:
  Clock::time_point deadline;         // of the pending read or write (see arm())
  Clock::time_point watchdog_at = Clock::time_point::max();  // when the watchdog wakes
  bool io_pending = false;            // a read or write is under the deadline
  bool timed_out = false;             // the watchdog cancelled it
  bool idle = false;                  // session's loop only: waiting for the next request
  bool answered = false;              // session's loop only: at least one response written
  std::atomic<bool> busy{false};      // a request is being read, handled or answered
};

Server::Server(asio::io_context& ioc, std::vector<asio::any_io_executor> loops, const ServerSettings& settings,
               std::chrono::milliseconds grace, const Router& router, spdlog::logger& log)
    : ioc_(ioc),
      loops_(loops.empty() ? std::vector<asio::any_io_executor>{ioc.get_executor()} : std::move(loops)),
      settings_(settings),
      cors_(settings.cors),
      grace_(grace),
      router_(router),
      log_(log),
      control_(asio::make_strand(ioc)),
      acceptor_(control_),
      accept_loop_done_(ioc.get_executor()),
      sessions_done_(ioc.get_executor()),
      episodes_(std::make_unique<Episodes>()),
      seed_base_(core::SplitMix64::from_entropy().next()) {}

Server::~Server() = default;

asio::awaitable<void> Server::on_control_strand(std::function<void()> fn) {
  co_await asio::co_spawn(
      control_, [&fn]() -> asio::awaitable<void> { fn(); co_return; }, use_awaitable);
}

asio::awaitable<void> Server::start() {
  auto address = asio::ip::make_address(settings_.host);
  tcp::endpoint endpoint(address, settings_.port);
  std::uint16_t bound_port = 0;
  co_await on_control_strand([&] {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    bound_port = acceptor_.local_endpoint().port();
  });
  local_port_.store(bound_port);
  log_.info("listening on http://{}:{}", settings_.host, bound_port);
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
      settings_.max_connections + kReservedDescriptors > files.rlim_cur)
    log_.warn("MAX_CONNECTIONS={} does not fit the open-file limit ({} descriptors, about {} needed besides connections): "
              "accept will fail with EMFILE before the cap; raise RLIMIT_NOFILE (ulimit -n) or lower MAX_CONNECTIONS",
              settings_.max_connections, static_cast<unsigned long long>(files.rlim_cur), kReservedDescriptors);
  accept_loop_started_ = true;
  asio::co_spawn(control_, accept_loop(), [this](std::exception_ptr e) {
    if (e) log_.critical("accept loop ended with an exception; no new connections will be accepted");
    accept_loop_done_.set();
  });
}

asio::awaitable<void> Server::accept_loop() {
  asio::steady_timer pause(control_);
  core::Backoff backoff(kAcceptBackoffFirst, kAcceptBackoffMax);
  auto& failing = episodes_->accept_failing;
  for (;;) {
    // Round robin over the event loops; the connection stays on its loop.
    const auto& loop = loops_[next_loop_++ % loops_.size()];
    auto [ec, socket] = co_await acceptor_.async_accept(loop, nothrow);
    if (!acceptor_.is_open()) co_return;
    const auto now = Clock::now();
    if (ec) {
      if (failing.occur(now)) {
        const auto failures = failing.take_since_line();
        if (failing.count == 1)
          log_.warn("accept failed: {}; retrying with backoff up to {} ms, {} open connections served meanwhile",
                    ec.message(), std::chrono::duration_cast<std::chrono::milliseconds>(kAcceptBackoffMax).count(),
                    open_connections());
        else
          log_.warn("accept still failing: {} failures in the last {} s ({}); {} open connections", failures,
                    std::chrono::duration_cast<std::chrono::seconds>(kEpisodeLogInterval).count(), ec.message(),
                    open_connections());
      }
      pause.expires_after(backoff.next());
      co_await pause.async_wait(nothrow);
      continue;
    }
    if (auto failures = failing.end()) {
      log_.info("accept works again after {} failed attempts over {} ms", failures, ms_between(failing.started, now));
      backoff.reset();
    }
    spawn_session(std::move(socket), now);
  }
}

void Server::spawn_session(tcp::socket socket, Clock::time_point now) {
  auto& over_cap = episodes_->over_cap;
  // Only this strand adds sessions: the count cannot grow before the emplace below.
  if (open_connections() >= settings_.max_connections) {
    // Closed at once, before a byte is read: the client sees the connection
    // end without an answer, as if refused, and it costs nothing more.
    boost::system::error_code ignored;
    socket.close(ignored);
    refused_total_.fetch_add(1, std::memory_order_relaxed);
    if (over_cap.occur(now)) {
      const auto refused = over_cap.take_since_line();
      const auto interval = std::chrono::duration_cast<std::chrono::seconds>(kEpisodeLogInterval).count();
      if (over_cap.count == 1)
        log_.warn("at MAX_CONNECTIONS={}: closing new connections at once; a count follows every {} s while this lasts",
                  settings_.max_connections, interval);
      else
        log_.warn("at MAX_CONNECTIONS={}: closed {} new connections at once in the last {} s", settings_.max_connections,
                  refused, interval);
    }
    return;
  }
  if (auto refused = over_cap.end())
    log_.info("below MAX_CONNECTIONS={} again: {} connections were closed at once over {} ms", settings_.max_connections,
              refused, ms_between(over_cap.started, now));
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto n = connections_total_.fetch_add(1, std::memory_order_relaxed);
  auto session = std::make_shared<Session>(std::move(socket), seed_base_ + n * core::SplitMix64::kGolden,
                                           read_buffer_limit(settings_));
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(session.get(), session);
  }
  auto executor = session->socket.get_executor();
  auto slot = session->cancel.slot();
  asio::co_spawn(executor, run_session(session),
                 asio::bind_cancellation_slot(slot, [this, raw = session.get()](std::exception_ptr e) {
                   if (e) log_.error("connection handler ended with an exception; connection closed");
                   forget(raw);
                 }));
}

void Server::forget(Session* session) {
  bool last = false;
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(session);
    last = sessions_.empty() && closing_.load();
  }
  if (last) sessions_done_.set();
}

asio::awaitable<void> Server::run_session(std::shared_ptr<Session> self) {
  self->arm(settings_.header_timeout);
  co_await (serve_requests(*self) || watch_deadline(*self));
  boost::system::error_code ignored;
  self->socket.close(ignored);
}

// One lazy timer per connection enforces the read and write deadlines: it
// wakes when a deadline passes, not per operation. Beast's tcp_stream arms
// and cancels a timer around every read and write instead, which cost more
// than the request's own work on /health (docs/benchmarks.md).
asio::awaitable<void> Server::watch_deadline(Session& s) {
  for (;;) {
    s.watchdog_at = s.deadline;
    s.watchdog.expires_at(s.deadline);
    auto [ec] = co_await s.watchdog.async_wait(nothrow);
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;  // the session is over
    auto now = Clock::now();
    if (ec || now < s.deadline) continue;  // arm() moved the deadline
    if (s.io_pending) {
      s.timed_out = true;
      boost::system::error_code ignored;
      s.socket.cancel(ignored);
    }
    // In a handler (no deadline applies) or timed out: look again later.
    s.deadline = now + settings_.idle_timeout;
  }
}

asio::awaitable<void> Server::serve_requests(Session& s) {
  // A request's state lives in serve_one()'s frame, allocated per request:
  // an idle connection keeps only this loop's small frame.
  // Each result named first: with co_await inside the condition (`if (!co_await
  // ...)`, `while (co_await a && co_await b)`) GCC 12's build here reset every
  // connection at once.
  for (;;) {
    const bool more = co_await wait_for_request_bytes(s);
    if (!more) break;
    const bool go_on = co_await serve_one(s);
    if (!go_on) break;
  }
}

asio::awaitable<bool> Server::serve_one(Session& s) {
  s.busy.store(true, std::memory_order_relaxed);
  Handled h;
  h.started = Clock::now();
  h.started_wall = std::chrono::system_clock::now();
  auto outcome = co_await read_request(s, h);
  const Request& request = h.request();
  if (outcome != ReadOutcome::request) {
    s.busy.store(false, std::memory_order_relaxed);
    if (outcome == ReadOutcome::responded_and_close) co_await close_gracefully(s);
    co_return false;
  }
  requests_total_.fetch_add(1, std::memory_order_relaxed);
  if (observer_ != nullptr) observer_->started();

  auto header_id = request["X-Request-ID"];
  RequestIdGenerator::Buffer generated;
  h.request_id = is_sane_request_id(header_id) ? std::string_view(header_id) : s.ids.next(generated);
  auto incoming = request["traceparent"];
  auto trace = s.traces.next(std::string_view(incoming.data(), incoming.size()));
  telemetry::TraceContext::Header traceparent;
  h.trace_id = trace.trace_id_view();
  h.traceparent = trace.traceparent(traceparent);
  Response response = co_await dispatch(request, h);
  finish_response(request, response);
  bool keep_alive = !h.close_after && request.keep_alive() && !closing_.load(std::memory_order_relaxed);
  if (observer_ != nullptr && observer_->waits_before_write()) co_await observer_->before_write(observed(request, response, h));
  bool written = co_await write_response(s, response, &request, h.request_id, keep_alive);
  if (observer_ != nullptr) observer_->finished(observed(request, response, h));
  s.answered = true;
  s.busy.store(false, std::memory_order_relaxed);
  if (!written) co_return false;
  if (!keep_alive) {
    co_await close_gracefully(s);
    co_return false;
  }
  co_return true;
}

ObservedRequest Server::observed(const Request& request, const Response& response, const Handled& h) const {
  const auto method = request.method_string();
  ObservedRequest r;
  r.method = std::string_view(method.data(), method.size());
  r.route = h.route;
  r.path = h.path;
  r.request_id = h.request_id;
  r.trace_id = h.trace_id;
  r.status = response.result_int();
  r.request_bytes = request.body().size();
  r.response_bytes = response.body().size();
  r.duration = Clock::now() - h.started;
  r.started = h.started_wall;
  return r;
}

// Waits until the next request starts arriving, under the idle timeout.
// Pipelined bytes already buffered count as a request at once.
asio::awaitable<bool> Server::wait_for_request_bytes(Session& s) {
  if (s.buffer.size() > 0) co_return true;
  if (closing_.load(std::memory_order_relaxed)) co_return false;
  // An idle connection keeps no large buffer (10,000 idle connections would
  // otherwise hold 4 KiB or more each).
  if (s.buffer.capacity() > kIdleBufferBytes) s.buffer.shrink_to_fit();
  s.idle = true;
  // A fresh connection must start its request within the header timeout (a
  // silent client is slowloris too); between requests, keep-alive idles longer.
  s.arm(s.answered ? settings_.idle_timeout : settings_.header_timeout);
  boost::system::error_code ec;
  if (s.buffer.capacity() == 0) {
    // No buffer (a new connection, or a big one given back): wait with none.
    auto [wait_ec] = co_await s.socket.async_wait(tcp::socket::wait_read, nothrow);
    ec = s.disarm(wait_ec);
  } else {
    // The buffer it keeps anyway: read into it. Asio's wait_read is never
    // speculative and re-arms epoll (one epoll_ctl per request); a read after
    // an exhausted one goes straight to the reactor, and the header read
    // then parses these bytes first.
    const auto room = std::min(s.buffer.capacity(), s.buffer.max_size());
    auto [read_ec, n] = co_await s.socket.async_read_some(s.buffer.prepare(room), nothrow);
    s.buffer.commit(n);
    ec = s.disarm(read_ec);
    if (n > 0) ec = {};  // bytes of a request: they are served, whatever came after them
  }
  s.idle = false;
  if (ec) {
    if (ec == beast::error::timeout) log_.debug("idle keep-alive connection closed after {} ms", settings_.idle_timeout.count());
    co_return false;
  }
  co_return true;
}

std::optional<Response> Server::read_error_response(const Session& s, const boost::system::error_code& ec) const {
  if (ec == beast::error::timeout) {
    // Slowloris: a client that does not finish its request in time gets no answer.
    log_.debug("dropped a client that did not send its request in time");
    return std::nullopt;
  }
  if (is_disconnect(ec)) return std::nullopt;
  const auto& buffer = s.buffer;  // the request line, for a 505
  return request_error_response(ec, settings_,
                                {static_cast<const char*>(buffer.data().data()), buffer.size()});
}

asio::awaitable<Server::ReadOutcome> Server::refuse(Session& s, std::optional<Response> response) {
  if (!response) co_return ReadOutcome::closed;
  RequestIdGenerator::Buffer generated;
  co_await write_response(s, *response, nullptr, s.ids.next(generated), false);
  co_return ReadOutcome::responded_and_close;
}

// The header first; the route is found before a body byte is read, and a
// body is read only for a route that takes one.
asio::awaitable<Server::ReadOutcome> Server::read_request(Session& s, Handled& h) {
  auto& parser = h.parser;
  apply_request_limits(parser, settings_);

  // wait_for_request_bytes() read what has come, usually the whole header:
  // parse it here. Beast's async_read_header never completes inline, so it
  // would go through the loop's queue twice even then.
  boost::system::error_code header_ec = bhttp::error::need_more;
  if (s.buffer.size() > 0) {
    header_ec = {};
    s.buffer.consume(parser.put(s.buffer.data(), header_ec));
  }
  if (header_ec == bhttp::error::need_more) {
    s.arm(settings_.header_timeout);
    auto [read_ec, n] = co_await bhttp::async_read_header(s.socket, s.buffer, parser, nothrow);
    header_ec = s.disarm(read_ec);
  }
  if (header_ec) co_return co_await refuse(s, read_error_response(s, header_ec));
  auto decision = decide_on_header(parser.get(), parser.is_done(), router_);
  if (decision.refusal) co_return co_await refuse(s, std::move(decision.refusal));
  h.target = decision.target;
  h.path = decision.target.path;
  h.match = std::move(decision.match);
  if (h.match.route != nullptr) h.route = h.match.route->pattern;
  h.close_after = decision.close_after;
  if (!decision.read_body) co_return ReadOutcome::request;

  if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
    bhttp::response<bhttp::empty_body> go_on{Status::continue_, 11};
    s.arm(settings_.idle_timeout);
    auto [wec, wn] = co_await bhttp::async_write(s.socket, go_on, nothrow);
    if (s.disarm(wec)) co_return ReadOutcome::closed;
  }
  // The body is due within the header timeout too: a client trickling it
  // holds the connection no longer than one trickling its header.
  s.arm(settings_.header_timeout);
  auto [body_ec, body_n] = co_await bhttp::async_read(s.socket, s.buffer, parser, nothrow);
  if (auto ec = s.disarm(body_ec)) co_return co_await refuse(s, read_error_response(s, ec));
  co_return ReadOutcome::request;
}

asio::awaitable<Response> Server::dispatch(const Request& request, Handled& h) {
  const std::string_view path = h.path;
  auto& match = h.match;
  Response res;
  if (cors_.enabled()) {
    // Before routing: a preflight names the method it would use, not OPTIONS,
    // and carries no API key.
    if (auto preflight = cors_.preflight(request)) co_return std::move(*preflight);
  }
  if (h.target.form == Target::Form::asterisk) {  // OPTIONS *: what the server as a whole answers
    res = text_response(Status::ok, "");
    res.set(bhttp::field::allow, router_.methods());
    co_return res;
  }
  try {
    switch (match.kind) {
      case Router::Match::Kind::not_found:
        res = error_response(Status::not_found, "Not Found");
        break;
      case Router::Match::Kind::method_not_allowed:
        res = error_response(Status::method_not_allowed, "Method Not Allowed");
        res.set(bhttp::field::allow, match.allow);
        break;
      case Router::Match::Kind::found: {
        RequestContext ctx{request,      path,           h.target.query, match.route->pattern, h.request_id,
                           std::move(match.params), h.trace_id, h.traceparent};
        res = co_await match.route->handler(ctx);
        break;
      }
    }
  } catch (const ValidationError& e) {
    res = validation_response(e.errors());
  } catch (const HttpError& e) {
    res = error_response(e.status(), e.what());
    for (const auto& [name, value] : e.headers()) res.set(name, value);
  } catch (const std::exception& e) {
    std::optional<Response> mapped;
    if (exception_mapper_) mapped = exception_mapper_(e);
    if (mapped) {
      telemetry::log_fields(log_, spdlog::level::warn, {{"request_id", h.request_id}, {"trace_id", h.trace_id}},
                            fmt::format("request {} {} {} failed: {}; answered {}", h.request_id,
                                        std::string_view(request.method_string()), path, e.what(),
                                        static_cast<unsigned>(mapped->result_int())));
      res = std::move(*mapped);
    } else {
      telemetry::log_fields(log_, spdlog::level::err, {{"request_id", h.request_id}, {"trace_id", h.trace_id}},
                            fmt::format("request {} {} {} failed: {}; answered 500, connection kept", h.request_id,
                                        std::string_view(request.method_string()), path, e.what()));
      res = error_response(Status::internal_server_error, "Internal Server Error");
    }
  }
  co_return res;
}

void Server::finish_response(const Request& request, Response& response) const {
  if (cors_.enabled()) cors_.decorate(request, response);
  // A 304 has no body left to compress; its ETag is the identity form, which
  // matches either form on the next request (conditional.hpp).
  if (apply_conditional_get(request, response)) return;
  apply_compression(request, response);
}

asio::awaitable<bool> Server::write_response(Session& s, Response& res, const Request* req,
                                             std::string_view request_id, bool keep_alive) {
  ServerFields add{req != nullptr && req->version() == 10 ? 10 : 11, res.body().size(), s.date.now(), request_id,
                   keep_alive};
  // HEAD: the same headers as GET, Content-Length included, but no body.
  if (req != nullptr && req->method() == Verb::head) res.body().clear();
  serialize_header(res, add, s.head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(s.head), asio::buffer(res.body())};
  s.arm(settings_.idle_timeout);
  auto [ec, n] = co_await asio::async_write(s.socket, buffers, nothrow);
  co_return !s.disarm(ec);
}

asio::awaitable<void> Server::close_gracefully(Session& s) {
  boost::system::error_code ec;
  s.socket.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  std::size_t discarded = 0;
  s.arm(kLingerTime);
  while (discarded < kLingerBytes) {
    s.buffer.clear();
    auto [rec, n] = co_await s.socket.async_read_some(s.buffer.prepare(16 * 1024), nothrow);
    if (rec) break;  // the peer closed, or the linger deadline passed
    discarded += n;
  }
}

std::size_t Server::post_to_sessions(void (*action)(Session&)) {
  std::lock_guard lock(sessions_mutex_);
  for (auto& [raw, session] : sessions_)
    asio::post(session->socket.get_executor(), [session = session, action] { action(*session); });
  return sessions_.size();
}

asio::awaitable<void> Server::stop() {
  co_await on_control_strand([this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  if (accept_loop_started_) co_await accept_loop_done_.wait();

  std::size_t open = 0, in_flight = 0;
  {
    std::lock_guard lock(sessions_mutex_);
    closing_.store(true);
    open = sessions_.size();
    for (auto& [raw, session] : sessions_) in_flight += session->busy.load() ? 1 : 0;
    if (sessions_.empty()) sessions_done_.set();
  }
  log_.info("stopped accepting; closing {} idle connections, waiting up to {} ms for {} in-flight requests",
            open - in_flight, grace_.count(), in_flight);

  // Idle sessions close now; busy ones answer with Connection: close and end.
  post_to_sessions([](Session& s) {
    if (s.idle) {
      boost::system::error_code ignored;
      s.socket.cancel(ignored);
    }
  });
  bool finished = co_await sessions_done_.wait_for(grace_);
  if (finished) {
    log_.info("{} in-flight requests finished", in_flight);
    co_return;
  }

  std::size_t left = post_to_sessions([](Session& s) {
    s.cancel.emit(asio::cancellation_type::terminal);
    boost::system::error_code ignored;
    s.socket.close(ignored);
  });
  log_.warn("grace period over: cancelled {} connections still busy", left);
  bool unwound = co_await sessions_done_.wait_for(kUnwindTime);
  if (!unwound)
    log_.error("{} connections did not unwind within {} ms of cancellation", stats().open_connections,
               std::chrono::duration_cast<std::chrono::milliseconds>(kUnwindTime).count());
}

std::size_t Server::open_connections() const {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

Server::Stats Server::stats() const {
  Stats st{};
  std::lock_guard lock(sessions_mutex_);
  st.open_connections = sessions_.size();
  for (const auto& [raw, session] : sessions_) st.in_flight += session->busy.load(std::memory_order_relaxed) ? 1 : 0;
  st.connections_total = connections_total_.load(std::memory_order_relaxed);
  st.refused_total = refused_total_.load(std::memory_order_relaxed);
  st.requests_total = requests_total_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace svc::http

#pragma once
// The HTTP/1.1 listener: Beast over TCP on C++20 coroutines.
//
// Every connection is a session coroutine on one of the event loops it is
// given (round robin; each loop must be run by one thread, so a session needs
// no strand), registered with
// the server, which owns it: stop() stops accepting, marks every later
// response `Connection: close`, closes idle keep-alive connections, waits for
// in-flight requests up to the grace period, then emits terminal cancellation
// to what is left (a handler cannot be resumed usefully after its request is
// abandoned, so there is no gentler first phase) and waits until every session
// coroutine has returned.
//
// Facing the internet: at most MAX_CONNECTIONS connections (one more is
// closed at once), a read buffer bounded by the header limit, a request body
// read only for a route that takes one, deadlines on every read and write.
// docs/http-server.md lists what each hostile input gets.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "lib/http/server_settings.hpp"
#include "lib/http/request_observer.hpp"
#include "lib/http/router.hpp"
#include "lib/core/async_event.hpp"
#include "lib/lifecycle/component.hpp"

namespace spdlog {
class logger;
}

namespace svc::http {

class Server final : public lifecycle::Component {
 public:
  // `ioc` hosts the acceptor; `loops` (lifecycle::EventLoops::executors(),
  // each single-threaded) host the connections; empty means `ioc` alone.
  Server(boost::asio::io_context& ioc, std::vector<boost::asio::any_io_executor> loops,
         const ServerSettings& settings, std::chrono::milliseconds grace, const Router& router,
         spdlog::logger& log);
  ~Server() override;

  std::string_view name() const override { return "http-listener"; }

  // Turns an exception the server does not know (e.g. "database unavailable")
  // into a response; nullopt falls through to the logged 500. Set before start().
  using ExceptionMapper = std::function<std::optional<Response>(const std::exception&)>;
  void set_exception_mapper(ExceptionMapper mapper) { exception_mapper_ = std::move(mapper); }
  // Told about every request (metrics, events, access log). W3C traceparent
  // handling is the server's own and always on. Set before start().
  void set_observer(RequestObserver* observer) { observer_ = observer; }
  // Binds and listens (throws std::system_error, e.g. address in use), then accepts.
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  struct Stats {
    std::size_t open_connections;
    std::size_t in_flight;
    std::uint64_t connections_total;
    std::uint64_t requests_total;
    std::uint64_t refused_total;  // closed at once at MAX_CONNECTIONS
  };
  Stats stats() const;
  // The port start() bound (PORT=0 picks a free one); 0 before.
  std::uint16_t local_port() const { return local_port_.load(); }

 private:
  struct Session;
  struct Handled;
  struct Episodes;
  enum class ReadOutcome { request, closed, responded_and_close };

  boost::asio::awaitable<void> accept_loop();
  void spawn_session(boost::asio::ip::tcp::socket socket, std::chrono::steady_clock::time_point now);
  boost::asio::awaitable<void> run_session(std::shared_ptr<Session> session);
  boost::asio::awaitable<void> serve_requests(Session& s);
  // Reads, handles and answers one request; false when the connection ends.
  boost::asio::awaitable<bool> serve_one(Session& s);
  boost::asio::awaitable<void> watch_deadline(Session& s);
  boost::asio::awaitable<bool> wait_for_request_bytes(Session& s);
  boost::asio::awaitable<ReadOutcome> read_request(Session& s, Handled& h);
  std::optional<Response> read_error_response(const boost::system::error_code& ec) const;
  // Writes `response` (nullopt: nothing, the client is dropped) and ends the connection.
  boost::asio::awaitable<ReadOutcome> refuse(Session& s, std::optional<Response> response);
  boost::asio::awaitable<Response> dispatch(const Request& request, Handled& h);
  // What every answer to a routed request gets on its way out: CORS headers,
  // ETag and 304, gzip.
  void finish_response(const Request& request, Response& response) const;
  ObservedRequest observed(const Request& request, const Response& response, const Handled& h) const;
  boost::asio::awaitable<bool> write_response(Session& s, Response& res, const Request* req, std::string_view request_id,
                                              bool keep_alive);
  boost::asio::awaitable<void> close_gracefully(Session& s);
  void forget(Session* session);
  std::size_t open_connections() const;
  std::size_t post_to_sessions(void (*action)(Session&));
  boost::asio::awaitable<void> on_control_strand(std::function<void()> fn);

  boost::asio::io_context& ioc_;
  std::vector<boost::asio::any_io_executor> loops_;
  std::size_t next_loop_ = 0;  // control_ only
  ServerSettings settings_;
  Cors cors_;
  std::chrono::milliseconds grace_;
  const Router& router_;
  spdlog::logger& log_;
  ExceptionMapper exception_mapper_;
  RequestObserver* observer_ = nullptr;

  boost::asio::strand<boost::asio::io_context::executor_type> control_;  // acceptor lives here
  boost::asio::ip::tcp::acceptor acceptor_;
  core::AsyncEvent accept_loop_done_;
  bool accept_loop_started_ = false;  // stop() may follow a start() cancelled before it
  core::AsyncEvent sessions_done_;

  std::atomic<bool> closing_{false};  // from stop(): every response says Connection: close
  mutable std::mutex sessions_mutex_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;
  std::atomic<std::uint64_t> connections_total_{0};
  std::atomic<std::uint64_t> requests_total_{0};
  std::atomic<std::uint64_t> refused_total_{0};
  std::atomic<std::uint16_t> local_port_{0};
  std::unique_ptr<Episodes> episodes_;  // control_ only
  std::uint64_t seed_base_;
};

}  // namespace svc::http

// lib/http's Client against in-process servers on loopback: keep-alive
// pooling, TLS (a throwaway CA), a CONNECT proxy, timeouts, retries, size
// caps, stop() and caller cancellation.
//
// Threads: the client's io_context ("main", as in the service) runs on a
// thread of its own; the test coroutines and the test servers run on the
// test's thread ("loop"), so every call crosses threads as the service's
// handlers do. Test servers are plain Asio; they never share code with the
// client.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <list>
#include <sstream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include "lib/http/client.hpp"
#include "lib/http/client_url.hpp"
#include "lib/core/async_event.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using svc::http::Client;
using svc::http::ClientError;
using svc::http::ClientPhase;
using svc::http::ClientRequest;
using svc::http::ClientResponse;
using svc::http::ClientSettings;
using svc::core::AsyncEvent;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// ---------------------------------------------------------------- test CA

// scripts/test-ca DIR when the checkout has it, else the fallback script
// beside this file; both write ca.pem, server.pem and server.key.
struct TestCa {
  TestCa() {
    char pattern[] = "/tmp/http-client-test.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    const std::filesystem::path source(P2P_SOURCE_DIR);
    std::string command;
    if (std::filesystem::exists(source / "scripts/test-ca")) {
      command = (source / "scripts/test-ca").string();
    } else {
      command = "sh ";
      command.append((source / "tests/integration/http_client_test_ca.sh").string());
    }
    command.append(" ").append(dir).append(" >/dev/null");
    if (std::system(command.c_str()) != 0) throw std::runtime_error("creating the test CA failed: " + command);
    ca = dir + "/ca.pem";
    cert = dir + "/server.pem";
    key = dir + "/server.key";
  }
  ~TestCa() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::string dir, ca, cert, key;
};

const TestCa& test_ca() {
  static TestCa ca;  // test-only: one CA for the whole run, removed at exit
  return ca;
}

ssl::context server_tls() {
  ssl::context context(ssl::context::tls_server);
  context.use_certificate_chain_file(test_ca().cert);
  context.use_private_key_file(test_ca().key, ssl::context::pem);
  return context;
}

// ---------------------------------------------------------------- servers

using Request = bhttp::request<bhttp::string_body>;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(nothrow);
}

std::string reply(int status, std::string_view body, std::string_view extra_headers = "") {
  std::string out = "HTTP/1.1 ";
  out.append(std::to_string(status)).append(status == 200 ? " OK\r\n" : " Something\r\n");
  out.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append(extra_headers).append("\r\n").append(body);
  return out;
}

// One accepted connection, server side.
struct Peer {
  explicit Peer(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  beast::flat_buffer buffer;
  int number = 0;  // 1 for the server's first connection

  asio::awaitable<std::optional<Request>> read() {
    bhttp::request_parser<bhttp::string_body> parser;
    boost::system::error_code ec;
    if (tls) {
      auto [read_ec, n] = co_await bhttp::async_read(*tls, buffer, parser, nothrow);
      ec = read_ec;
    } else {
      auto [read_ec, n] = co_await bhttp::async_read(socket, buffer, parser, nothrow);
      ec = read_ec;
    }
    if (ec) co_return std::nullopt;
    co_return parser.release();
  }
  // `raw` must outlive the write: pass a named string or a literal.
  asio::awaitable<void> write(std::string_view raw) {
    if (tls) {
      co_await asio::async_write(*tls, asio::buffer(raw), nothrow);
    } else {
      co_await asio::async_write(socket, asio::buffer(raw), nothrow);
    }
  }
  // Reads and drops bytes until the client closes (or the server stops).
  asio::awaitable<void> wait_closed() {
    char sink[4096];
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), nothrow);
      if (ec) co_return;
    }
  }
};

class TestServer;
using Handler = std::function<asio::awaitable<void>(TestServer&, Peer&)>;

// A loopback server whose every connection runs `handler`; counts what it
// sees. Lives on the test's thread only.
class TestServer {
 public:
  TestServer(asio::io_context& loop, Handler handler, ssl::context* tls = nullptr, const char* address = "127.0.0.1")
      : loop_(loop), acceptor_(loop), handler_(std::move(handler)), tls_(tls), done_(loop.get_executor()) {
    tcp::endpoint endpoint(asio::ip::make_address(address), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    host_ = endpoint.address().is_v6() ? std::string("[").append(address).append("]") : std::string(address);
    ++tasks_;
    asio::co_spawn(loop_, accept_loop(), [this](std::exception_ptr) { finished(); });
  }

  unsigned short port() const { return port_; }
  std::string url(std::string_view path, std::string_view host = "") const {
    std::string out(tls_ ? "https://" : "http://");
    out.append(host.empty() ? host_ : std::string(host)).append(":").append(std::to_string(port_)).append(path);
    return out;
  }

  int connections = 0;  // accepted
  int open = 0;         // now
  int max_open = 0;
  int closed = 0;       // sessions over
  std::vector<Request> requests;  // every request any handler read through record()
  AsyncEvent* on_close = nullptr;  // set when a session ends, if given

  // Closes the listener and every connection; returns when all have ended.
  asio::awaitable<void> stop() {
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto* peer : peers_) peer->socket.close(ignored);
    co_await done_.wait();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
      if (ec) co_return;
      auto peer = std::make_shared<Peer>(std::move(socket));
      peer->number = ++connections;
      max_open = std::max(max_open, ++open);
      peers_.push_back(peer.get());
      ++tasks_;
      asio::co_spawn(loop_, session(peer), [this](std::exception_ptr) { finished(); });
    }
  }

  asio::awaitable<void> session(std::shared_ptr<Peer> peer) {
    bool ready = true;
    if (tls_) {
      peer->tls = std::make_unique<ssl::stream<tcp::socket&>>(peer->socket, *tls_);
      auto [ec] = co_await peer->tls->async_handshake(ssl::stream_base::server, nothrow);
      ready = !ec;
    }
    if (ready) co_await handler_(*this, *peer);
    boost::system::error_code ignored;
    peer->socket.shutdown(tcp::socket::shutdown_both, ignored);
    peer->socket.close(ignored);
    std::erase(peers_, peer.get());
    --open;
    ++closed;
    if (on_close) on_close->set();
  }

  void finished() {
    if (--tasks_ == 0 && stopping_) done_.set();
  }

  asio::io_context& loop_;
  tcp::acceptor acceptor_;
  Handler handler_;
  ssl::context* tls_;
  unsigned short port_ = 0;
  std::string host_;
  std::vector<Peer*> peers_;
  int tasks_ = 0;
  bool stopping_ = false;
  AsyncEvent done_;
};

// The bytes a server answers to the `served`-th request (0-based) of a
// connection; nullopt closes the connection without an answer.
using Respond = std::function<std::optional<std::string>(TestServer&, const Peer&, int served)>;

// Serves each connection until the client closes it, recording every
// request; `hold` delays each answer (so that concurrent calls overlap).
Handler serve(Respond respond, std::chrono::milliseconds hold = 0ms) {
  return [respond, hold](TestServer& s, Peer& p) -> asio::awaitable<void> {
    for (int served = 0;; ++served) {
      auto request = co_await p.read();
      if (!request) co_return;
      s.requests.push_back(std::move(*request));
      const auto response = respond(s, p, served);
      if (!response) co_return;
      if (hold.count() > 0) co_await pause(hold);
      co_await p.write(*response);
    }
  };
}

// Answers every request with `status` and `body`.
Handler answer(int status, std::string body, std::string headers = "") {
  return serve([response = reply(status, body, headers)](TestServer&, const Peer&, int) {
    return std::optional<std::string>(response);
  });
}

// Reads a request and never answers (until the client goes away).
Handler stall(AsyncEvent* seen = nullptr) {
  return [seen](TestServer& s, Peer& p) -> asio::awaitable<void> {
    auto request = co_await p.read();
    if (!request) co_return;
    s.requests.push_back(std::move(*request));
    if (seen) seen->set();
    co_await p.wait_closed();
  };
}

// ---------------------------------------------------------------- harness

ClientSettings test_settings() {
  ClientSettings s;
  s.user_agent = "p2p-dashboard/1.0";  // the application names itself
  s.connect_timeout = 2s;
  s.read_timeout = 2s;
  s.total_timeout = 5s;
  s.retry_backoff = 10ms;
  s.max_connections_per_origin = 4;
  return s;
}

ClientRequest get(std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  return r;
}

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// The ClientError a call threw; nullopt if it succeeded. Anything else propagates.
asio::awaitable<std::optional<ClientError>> failure_of(Client& client, ClientRequest request) {
  std::optional<ClientError> error;
  try {
    co_await client.send(std::move(request));
  } catch (const ClientError& e) {
    error = e;
  }
  co_return error;
}

// The client's io_context on a thread of its own (as the service's main
// context); the test coroutine and its servers on the test's thread.
class Harness {
 public:
  Harness() : guard_(asio::make_work_guard(main)) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs_);
    log_ = std::make_shared<spdlog::logger>("http-client-test", sink);
    log_->set_level(spdlog::level::debug);
    main_finished_ = main_done_.get_future();
    main_thread_ = std::thread([this] {
      main.run();
      main_done_.set_value();
    });
  }
  ~Harness() {
    if (main_thread_.joinable()) {
      guard_.reset();
      main.stop();
      main_thread_.join();
    }
  }

  // A client that run() starts before the test and stops after it.
  Client& client(ClientSettings settings = test_settings(), bool start = true) {
    clients_.push_back(std::make_unique<Client>(main, std::move(settings), *log_));
    if (start) started_.push_back(clients_.back().get());
    return *clients_.back();
  }
  TestServer& server(Handler handler, ssl::context* tls = nullptr, const char* address = "127.0.0.1") {
    servers_.push_back(std::make_unique<TestServer>(loop, std::move(handler), tls, address));
    return *servers_.back();
  }

  // Runs `test` on this thread; whatever happens, stops every client and
  // server, then checks that nothing was left running on the client's context.
  template <typename Test>
  void run(Test&& test) {
    std::exception_ptr failure;
    auto body = [&]() -> asio::awaitable<void> {
      try {
        for (auto* c : started_) co_await c->start();
        co_await test();
      } catch (...) {
        failure = std::current_exception();
      }
      for (auto& c : clients_) co_await c->stop();
      for (auto& s : servers_) co_await s->stop();
    };
    auto done = asio::co_spawn(loop, body(), asio::use_future);
    loop.run_for(60s);
    const bool finished = done.wait_for(0s) == std::future_status::ready;
    CHECK_MESSAGE(finished, "the test did not finish within 60 s");
    if (!finished) loop.stop();
    guard_.reset();
    const bool drained = main_finished_.wait_for(10s) == std::future_status::ready;
    CHECK_MESSAGE(drained, "the client's io_context still had work 10 s after stop()");
    if (!drained) main.stop();
    main_thread_.join();
    if (failure) std::rethrow_exception(failure);
  }

  std::string logs() const { return logs_.str(); }

  asio::io_context main{1};
  asio::io_context loop{1};

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::ostringstream logs_;
  std::shared_ptr<spdlog::logger> log_;
  std::promise<void> main_done_;
  std::future<void> main_finished_;
  std::thread main_thread_;
  std::vector<std::unique_ptr<TestServer>> servers_;
  std::vector<Client*> started_;
  std::vector<std::unique_ptr<Client>> clients_;  // destroyed first: before the contexts
};

}  // namespace

// ---------------------------------------------------------------- basics

TEST_CASE("a GET and a POST send the expected headers and return status, type, headers and body") {
  Harness h;
  auto& server = h.server(answer(200, R"({"ok":true})", "X-Upstream: yes\r\n"));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto got = co_await client.send(get(server.url("/api/offers?asset=USDT")));
    CHECK(got.status == 200);
    CHECK(got.content_type == "application/json");
    CHECK(got.body == R"({"ok":true})");
    CHECK(got.attempts == 1);
    CHECK(got.header("x-upstream") == "yes");
    CHECK(got.header("X-Missing").empty());

    ClientRequest post;
    post.method = svc::http::Verb::post;
    post.url = server.url("/search");
    post.body = R"({"page":1})";
    post.headers = {{"X-Request-ID", "req-42"}, {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
    auto posted = co_await client.send(post);
    CHECK(posted.status == 200);

    REQUIRE(server.requests.size() == 2);
    const auto& first = server.requests[0];
    CHECK(first.method() == bhttp::verb::get);
    CHECK(first.target() == "/api/offers?asset=USDT");
    CHECK(first[bhttp::field::host] == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(first[bhttp::field::user_agent] == "p2p-dashboard/1.0");
    CHECK(first[bhttp::field::accept] == "application/json");
    CHECK(first[bhttp::field::connection] == "keep-alive");
    CHECK(first[bhttp::field::content_length].empty());
    const auto& second = server.requests[1];
    CHECK(second.method() == bhttp::verb::post);
    CHECK(second.body() == R"({"page":1})");
    CHECK(second[bhttp::field::content_type] == "application/json");
    CHECK(second[bhttp::field::content_length] == "10");
    CHECK(second["X-Request-ID"] == "req-42");
    CHECK(second["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  });
}

TEST_CASE("interim 1xx answers are skipped; a chunked body is read whole") {
  Harness h;
  const std::string chunked =
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n[1,2,\r\n2\r\n3]\r\n0\r\n\r\n";
  auto& server = h.server(serve([&chunked](TestServer&, const Peer&, int) { return std::optional<std::string>(chunked); }));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto got = co_await client.send(get(server.url("/")));
    CHECK(got.status == 200);
    CHECK(got.body == "[1,2,3]");
    auto again = co_await client.send(get(server.url("/")));
    CHECK(again.body == "[1,2,3]");
    CHECK(server.connections == 1);
  });
}

TEST_CASE("keep-alive: sequential calls reuse one connection; Connection: close is honoured") {
  Harness h;
  auto& kept = h.server(answer(200, "{}"));
  auto& closing = h.server(answer(200, "{}", "Connection: close\r\n"));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) co_await client.send(get(kept.url("/")));
    CHECK(kept.connections == 1);
    CHECK(kept.requests.size() == 3);
    auto stats = client.stats();
    CHECK(stats.connections_opened_total == 1);
    CHECK(stats.idle_connections == 1);
    CHECK(stats.open_connections == 1);
    CHECK(stats.in_flight == 0);
    CHECK(stats.requests_total == 3);

    for (int i = 0; i < 2; ++i) co_await client.send(get(closing.url("/")));
    CHECK(closing.connections == 2);
    CHECK(client.stats().idle_connections == 1);  // only the first server's
  });
}

TEST_CASE("bad URLs fail in phase url without touching the network") {
  Harness h;
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    for (const char* url : {"ftp://127.0.0.1/x", "not a url", "http://", "https://user:pw@127.0.0.1/"}) {
      auto error = co_await failure_of(client, get(url));
      REQUIRE(error);
      CHECK(error->phase() == ClientPhase::url);
      CHECK(std::string_view(error->what()).starts_with("url: "));
    }
    CHECK(client.stats().connections_opened_total == 0);
    CHECK(client.stats().failures_total == 4);
  });
}

TEST_CASE("IPv6 literals: http://[::1]:port") {
  bool have_v6 = true;
  try {
    asio::io_context probe;
    tcp::acceptor a(probe, tcp::endpoint(asio::ip::make_address("::1"), 0));
  } catch (const std::exception&) {
    have_v6 = false;
  }
  if (!have_v6) {
    MESSAGE("skipped: no IPv6 loopback here");
    return;
  }
  Harness h;
  auto& server = h.server(answer(200, "{}"), nullptr, "::1");
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto got = co_await client.send(get(server.url("/v6")));
    CHECK(got.status == 200);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0][bhttp::field::host] == "[::1]:" + std::to_string(server.port()));
  });
}

// ---------------------------------------------------------------- failures by phase

TEST_CASE("a refused connection fails in phase connect, naming the address") {
  Harness h;
  unsigned short port = 0;
  {
    tcp::acceptor closed(h.loop, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto error = co_await failure_of(client, get("http://127.0.0.1:" + std::to_string(port) + "/"));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::connect);
    CHECK(std::string(error->what()) == "connect: Connection refused (127.0.0.1:" + std::to_string(port) + ")");
  });
}

TEST_CASE("connect_timeout covers the TLS handshake: a server that never answers it") {
  Harness h;
  auto& silent = h.server([](TestServer&, Peer& p) -> asio::awaitable<void> { co_await p.wait_closed(); });
  auto settings = test_settings();
  settings.connect_timeout = 300ms;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    const auto t0 = Clock::now();
    auto error = co_await failure_of(client, get("https://127.0.0.1:" + std::to_string(silent.port()) + "/"));
    const auto took = ms_since(t0);
    REQUIRE(error);
    CHECK(error->timed_out());
    CHECK(std::string(error->what()) == "timeout: tls handshake after 300 ms");
    CHECK(took >= 290);
    CHECK(took < 2000);
  });
}

TEST_CASE("read_timeout bounds the wait for the response") {
  Harness h;
  auto& server = h.server(stall());
  auto settings = test_settings();
  settings.read_timeout = 200ms;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    const auto t0 = Clock::now();
    auto error = co_await failure_of(client, get(server.url("/slow")));
    const auto took = ms_since(t0);
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::timeout);
    CHECK(std::string(error->what()) == "timeout: read after 200 ms");
    CHECK(took >= 190);
    CHECK(took < 1500);
    CHECK(server.requests.size() == 1);  // not retry_safe: one attempt
    CHECK(client.stats().open_connections == 0);  // a timed-out connection is not kept
  });
}

TEST_CASE("the total timeout bounds a call across retries") {
  Harness h;
  auto& server = h.server(stall());
  auto settings = test_settings();
  settings.read_timeout = 150ms;
  settings.max_retries = 10;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    auto request = get(server.url("/slow"));
    request.retry_safe = true;
    request.timeout = 500ms;
    const auto t0 = Clock::now();
    auto error = co_await failure_of(client, request);
    const auto took = ms_since(t0);
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::timeout);
    CHECK(took >= 300);
    CHECK(took < 1200);
    const std::string what = error->what();
    const auto attempts = client.stats().retries_total + 1;
    CAPTURE(what);
    CHECK(what.find("(after " + std::to_string(attempts) + " attempts)") != std::string::npos);
    CHECK(attempts >= 2);
    CHECK(attempts <= 4);
    // The total deadline can fall while the last attempt is still connecting
    // (it never reached the server) or just after it sent its request (the
    // server may not have read it yet); every earlier attempt was seen.
    if (what.find("during connect") != std::string::npos) {
      CHECK(server.requests.size() == attempts - 1);
    } else {
      CHECK(server.requests.size() >= attempts - 1);
      CHECK(server.requests.size() <= attempts);
    }
    MESSAGE("took " << took << " ms, " << attempts << " attempts, " << server.requests.size() << " seen by the server: " << what);
  });
}

TEST_CASE("a response larger than max_response_bytes fails with body_too_large") {
  Harness h;
  auto& big = h.server(answer(200, std::string(10'000, 'x')));
  auto settings = test_settings();
  settings.max_response_bytes = 4096;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    auto error = co_await failure_of(client, get(big.url("/big")));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::body_too_large);
    CHECK(std::string_view(error->what()).starts_with("body_too_large: "));
    CHECK(client.stats().open_connections == 0);
  });
}

TEST_CASE("a non-2xx answer is ClientError status N with a short one-line excerpt of the body") {
  Harness h;
  std::string body = "{\"detail\":\"no such\r\npage\"}\t" + std::string(500, 'y');
  auto& server = h.server(answer(404, body));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto error = co_await failure_of(client, get(server.url("/nope")));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::status);
    CHECK(error->status() == 404);
    const std::string what = error->what();
    CHECK(what.starts_with("status 404: {\"detail\":\"no such page\"} yyy"));
    CHECK(what.find_first_of("\r\n\t") == std::string::npos);
    CHECK(what.size() <= 220);
    CHECK(what.ends_with("..."));
    CHECK(client.stats().idle_connections == 1);  // the answer was complete: the connection is kept
  });
}

// ---------------------------------------------------------------- retries

// 503 for the first `failures` requests, then 200.
Handler flaky(int failures) {
  return serve([failures](TestServer& s, const Peer&, int) {
    const bool fail = static_cast<int>(s.requests.size()) <= failures;
    return std::optional<std::string>(fail ? reply(503, "busy") : reply(200, "{}"));
  });
}

TEST_CASE("503s are retried only for calls marked retry_safe, at most max_retries times") {
  Harness h;
  auto& safe = h.server(flaky(2));
  auto& unsafe = h.server(flaky(2));
  auto& exhausted = h.server(flaky(100));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto request = get(safe.url("/"));
    request.retry_safe = true;
    auto got = co_await client.send(request);
    CHECK(got.status == 200);
    CHECK(got.attempts == 3);
    CHECK(safe.requests.size() == 3);

    auto error = co_await failure_of(client, get(unsafe.url("/")));
    REQUIRE(error);
    CHECK(error->status() == 503);
    CHECK(std::string(error->what()) == "status 503: busy");
    CHECK(unsafe.requests.size() == 1);

    auto again = get(exhausted.url("/"));
    again.retry_safe = true;
    auto gave_up = co_await failure_of(client, again);
    REQUIRE(gave_up);
    CHECK(gave_up->status() == 503);
    CHECK(std::string(gave_up->what()) == "status 503: busy (after 3 attempts)");
    CHECK(exhausted.requests.size() == 3);  // 1 + max_retries (2)
    CHECK(client.stats().retries_total == 4);
  });
}

TEST_CASE("a 429 is not retried, even when retry_safe, and carries the server's Retry-After") {
  Harness h;
  auto& limited = h.server(answer(429, "slow down", "Retry-After: 30\r\n"));
  auto& garbled = h.server(answer(503, "busy", "Retry-After: soon\r\n"));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto request = get(limited.url("/"));
    request.retry_safe = true;
    auto error = co_await failure_of(client, request);
    REQUIRE(error);
    CHECK(error->status() == 429);
    CHECK(error->retry_after() == std::chrono::seconds(30));
    CHECK(limited.requests.size() == 1);  // asked to wait: no retry behind the server's back

    auto unreadable = co_await failure_of(client, get(garbled.url("/")));
    REQUIRE(unreadable);
    CHECK(unreadable->status() == 503);
    CHECK_FALSE(unreadable->retry_after());  // not a value: no guess
  });
}

TEST_CASE("connection failures are retried for retry_safe calls") {
  Harness h;
  // Closes the first connection without an answer, then serves.
  auto& server = h.server(serve([](TestServer&, const Peer& p, int) -> std::optional<std::string> {
    if (p.number == 1) return std::nullopt;
    return reply(200, "{}");
  }));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto error = co_await failure_of(client, get(server.url("/")));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::read);
    CHECK(std::string(error->what()).starts_with("read: connection closed before the response"));

    auto request = get(server.url("/"));
    request.retry_safe = true;
    auto got = co_await client.send(request);
    CHECK(got.attempts == 1);  // the second connection serves at once
    CHECK(server.connections == 2);
  });
}

// ---------------------------------------------------------------- stale keep-alive connections

TEST_CASE("a pooled connection the server closed while idle does not fail the next call") {
  Harness h;
  AsyncEvent server_closed(h.loop.get_executor());
  // One response per connection, then the server closes (no Connection: close).
  auto& server = h.server([](TestServer& s, Peer& p) -> asio::awaitable<void> {
    auto request = co_await p.read();
    if (!request) co_return;
    s.requests.push_back(std::move(*request));
    const std::string response = reply(200, "{}");
    co_await p.write(response);
  });
  server.on_close = &server_closed;
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    co_await client.send(get(server.url("/")));
    bool closed = co_await server_closed.wait_for(5s);
    REQUIRE(closed);
    auto got = co_await client.send(get(server.url("/")));  // not retry_safe
    CHECK(got.status == 200);
    CHECK(server.connections == 2);
  });
}

TEST_CASE("a reused connection that fails before any response byte is retried once on a new one") {
  Harness h;
  // The first connection answers one request and drops the second unanswered
  // (a keep-alive timeout racing our request); later connections serve.
  auto& server = h.server(serve([](TestServer&, const Peer& p, int served) -> std::optional<std::string> {
    if (p.number == 1 && served == 1) return std::nullopt;
    return reply(200, "{}");
  }));
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    co_await client.send(get(server.url("/one")));
    auto got = co_await client.send(get(server.url("/two")));  // not retry_safe
    CHECK(got.status == 200);
    CHECK(got.attempts == 1);
    CHECK(server.connections == 2);
    REQUIRE(server.requests.size() == 3);
    CHECK(server.requests[2].target() == "/two");
  });
}

TEST_CASE("idle keep-alive connections are closed after idle_timeout") {
  Harness h;
  AsyncEvent server_saw_close(h.loop.get_executor());
  auto& server = h.server(answer(200, "{}"));
  server.on_close = &server_saw_close;
  auto settings = test_settings();
  settings.idle_timeout = 150ms;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    const auto t0 = Clock::now();
    co_await client.send(get(server.url("/")));
    CHECK(client.stats().idle_connections == 1);
    bool closed = co_await server_saw_close.wait_for(5s);
    const auto took = ms_since(t0);
    REQUIRE(closed);
    CHECK(took >= 140);
    CHECK(client.stats().idle_connections == 0);
    CHECK(client.stats().open_connections == 0);
  });
}

// ---------------------------------------------------------------- the pool bound

TEST_CASE("max_connections_per_origin=2: five concurrent calls from two threads share two connections") {
  Harness h;
  // Holds each answer for a moment so that the calls overlap.
  const std::string ok = reply(200, "{}");
  auto& server = h.server(serve([&ok](TestServer&, const Peer&, int) { return std::optional<std::string>(ok); }, 50ms));
  auto settings = test_settings();
  settings.max_connections_per_origin = 2;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    auto url = server.url("/");
    // Three callers on this thread, two on the client's own context.
    auto on_main = [&]() { return asio::co_spawn(h.main, client.send(get(url)), asio::use_awaitable); };
    auto all = co_await (client.send(get(url)) && client.send(get(url)) && client.send(get(url)) && on_main() &&
                         on_main());
    CHECK(std::get<0>(all).status == 200);
    CHECK(std::get<4>(all).status == 200);
    CHECK(server.requests.size() == 5);
    CHECK(server.max_open == 2);
    CHECK(server.connections == 2);
    CHECK(client.stats().open_connections == 2);
    CHECK(client.stats().in_flight == 0);
  });
}

TEST_CASE("a caller waiting for a busy origin honours its total timeout") {
  Harness h;
  AsyncEvent seen(h.loop.get_executor());
  auto& server = h.server(stall(&seen));
  auto settings = test_settings();
  settings.max_connections_per_origin = 1;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    std::optional<ClientError> first, second;
    long long second_took = 0;
    auto hold = [&]() -> asio::awaitable<void> {
      auto request = get(server.url("/hold"));
      request.timeout = 1500ms;
      first = co_await failure_of(client, request);
    };
    auto wait = [&]() -> asio::awaitable<void> {
      co_await seen.wait();
      auto request = get(server.url("/wait"));
      request.timeout = 200ms;
      const auto t0 = Clock::now();
      second = co_await failure_of(client, request);
      second_took = ms_since(t0);
    };
    co_await (hold() && wait());
    REQUIRE(second);
    CHECK(second->phase() == ClientPhase::timeout);
    CHECK(std::string(second->what()).starts_with("timeout: total 200 ms exceeded during wait for a pooled connection"));
    CHECK(second_took >= 190);
    CHECK(second_took < 1000);
    REQUIRE(first);
    CHECK(first->phase() == ClientPhase::timeout);
    CHECK(server.connections == 1);
  });
}

TEST_CASE("max_waiters: a call beyond the queue fails at once instead of waiting") {
  Harness h;
  AsyncEvent seen(h.loop.get_executor());
  auto& server = h.server(stall(&seen));
  auto settings = test_settings();
  settings.max_connections_per_origin = 1;
  settings.max_waiters = 1;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    std::optional<ClientError> holder, waiter, crowded;
    long long crowded_took = 0;
    auto call = [&](std::string path, std::chrono::milliseconds timeout, std::optional<ClientError>& out) -> asio::awaitable<void> {
      auto request = get(server.url(path));
      request.timeout = timeout;
      out = co_await failure_of(client, request);
    };
    auto third = [&]() -> asio::awaitable<void> {
      co_await seen.wait();  // the holder has the only connection
      REQUIRE(client.stats().in_flight == 2);  // the waiter queued as it started, before any I/O
      const auto t0 = Clock::now();
      co_await call("/third", 5000ms, crowded);
      crowded_took = ms_since(t0);
    };
    co_await (call("/hold", 1500ms, holder) && call("/wait", 300ms, waiter) && third());
    REQUIRE(crowded);
    CHECK(crowded->phase() == ClientPhase::timeout);
    CHECK(std::string(crowded->what()).find("1 calls already wait for a connection") != std::string::npos);
    CHECK(crowded_took < 500);
    REQUIRE(waiter);
    CHECK(waiter->phase() == ClientPhase::timeout);
    CHECK(server.connections == 1);
  });
}

// ---------------------------------------------------------------- TLS

TEST_CASE("TLS: a server certified by ca_file is trusted, by name and by IP, and the connection is reused") {
  auto tls = server_tls();
  Harness h;
  auto& server = h.server(answer(200, R"({"tls":true})"), &tls);
  auto settings = test_settings();
  settings.ca_file = test_ca().ca;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    auto by_name = co_await client.send(get(server.url("/a", "localhost")));
    CHECK(by_name.body == R"({"tls":true})");
    auto again = co_await client.send(get(server.url("/b", "localhost")));
    CHECK(again.status == 200);
    auto by_ip = co_await client.send(get(server.url("/c", "127.0.0.1")));
    CHECK(by_ip.status == 200);
    CHECK(server.connections == 2);  // localhost and 127.0.0.1 are two origins
    REQUIRE(server.requests.size() == 3);
    CHECK(server.requests[0][bhttp::field::host] == "localhost:" + std::to_string(server.port()));
  });
}

TEST_CASE("TLS: without the CA the handshake fails in phase tls with OpenSSL's reason") {
  auto tls = server_tls();
  Harness h;
  auto& server = h.server(answer(200, "{}"), &tls);
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    auto error = co_await failure_of(client, get(server.url("/", "localhost")));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::tls);
    const std::string what = error->what();
    CHECK(what.starts_with("tls: certificate verify failed"));
    MESSAGE(what);
    CHECK(server.requests.empty());
  });
}

TEST_CASE("TLS: a certificate that does not name the host fails verification") {
  auto tls = server_tls();
  Harness h;
  // 127.0.0.2 is loopback too, but not in the certificate's names.
  auto& server = h.server(answer(200, "{}"), &tls, "127.0.0.2");
  auto settings = test_settings();
  settings.ca_file = test_ca().ca;
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    auto error = co_await failure_of(client, get(server.url("/")));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::tls);
    const std::string what = error->what();
    CHECK(what.starts_with("tls: certificate verify failed"));
    CHECK(what.find("mismatch") != std::string::npos);
    MESSAGE(what);
    CHECK(server.requests.empty());
  });
}

TEST_CASE("start() fails with a message naming a CA file it cannot load") {
  Harness h;
  auto settings = test_settings();
  settings.ca_file = "/nonexistent/ca.pem";
  auto& client = h.client(settings, false);
  h.run([&]() -> asio::awaitable<void> {
    std::string message;
    try {
      co_await client.start();
    } catch (const std::exception& e) {
      message = e.what();
    }
    CHECK(message.find("/nonexistent/ca.pem") != std::string::npos);
    auto error = co_await failure_of(client, get("http://127.0.0.1:1/"));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::stopped);
  });
}

// ---------------------------------------------------------------- proxy

// A forward proxy: CONNECT tunnels to a loopback port (checking the
// credentials); absolute-form requests are answered by the proxy itself.
struct ProxyLog {
  int connects = 0;
  std::vector<std::string> authorizations;
  std::vector<std::string> targets;
  std::vector<std::string> hosts;
  bool refuse = false;
};

asio::awaitable<void> pipe(tcp::socket& from, tcp::socket& to) {
  char data[16 * 1024];
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(data), nothrow);
    if (ec) break;
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(data, n), nothrow);
    if (wec) break;
  }
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

Handler forward_proxy(ProxyLog& log) {
  return [&log](TestServer&, Peer& p) -> asio::awaitable<void> {
    for (;;) {
      auto request = co_await p.read();
      if (!request) co_return;
      log.authorizations.emplace_back((*request)[bhttp::field::proxy_authorization]);
      log.targets.emplace_back(request->target());
      log.hosts.emplace_back((*request)[bhttp::field::host]);
      if (request->method() != bhttp::verb::connect) {
        const std::string response = reply(200, R"({"via":"proxy"})");
        co_await p.write(response);
        continue;
      }
      ++log.connects;
      if (log.refuse) {
        co_await p.write("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
        co_return;
      }
      std::string_view target = request->target();
      auto port = static_cast<unsigned short>(std::stoi(std::string(target.substr(target.rfind(':') + 1))));
      tcp::socket upstream(p.socket.get_executor());
      auto [ec] = co_await upstream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), nothrow);
      if (ec) {
        co_await p.write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        co_return;
      }
      co_await p.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      co_await (pipe(p.socket, upstream) || pipe(upstream, p.socket));
      co_return;
    }
  };
}

TEST_CASE("proxy: https goes through one CONNECT tunnel with Basic credentials; the password is never logged") {
  auto tls = server_tls();
  Harness h;
  ProxyLog proxy_log;
  auto& origin = h.server(answer(200, R"({"origin":true})"), &tls);
  auto& proxy = h.server(forward_proxy(proxy_log));
  auto settings = test_settings();
  settings.ca_file = test_ca().ca;
  settings.use_proxy = true;
  settings.proxy_url = "http://scraper:s3cr3t-pw@127.0.0.1:" + std::to_string(proxy.port());
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    auto url = origin.url("/api", "localhost");
    auto first = co_await client.send(get(url));
    CHECK(first.body == R"({"origin":true})");
    auto second = co_await client.send(get(url));
    CHECK(second.status == 200);
    CHECK(proxy_log.connects == 1);
    CHECK(origin.connections == 1);
    REQUIRE(proxy_log.targets.size() == 1);
    CHECK(proxy_log.targets[0] == "localhost:" + std::to_string(origin.port()));
    CHECK(proxy_log.authorizations[0] == "Basic c2NyYXBlcjpzM2NyM3QtcHc=");
    CHECK(origin.requests.size() == 2);
  });
  const auto logs = h.logs();
  CHECK(logs.find("s3cr3t-pw") == std::string::npos);
  CHECK(logs.find("c2NyYXBlcjpzM2NyM3QtcHc") == std::string::npos);
  CHECK(logs.find("through proxy http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("proxy: http goes to the proxy in absolute form; a refused CONNECT is phase proxy") {
  Harness h;
  ProxyLog proxy_log;
  auto& proxy = h.server(forward_proxy(proxy_log));
  auto settings = test_settings();
  settings.use_proxy = true;
  settings.proxy_url = "http://u:p@127.0.0.1:" + std::to_string(proxy.port());
  auto& client = h.client(settings);
  h.run([&]() -> asio::awaitable<void> {
    // Nothing listens on port 9: only the proxy can answer.
    auto got = co_await client.send(get("http://127.0.0.1:9/x?y=1"));
    CHECK(got.body == R"({"via":"proxy"})");
    REQUIRE(proxy_log.targets.size() == 1);
    CHECK(proxy_log.targets[0] == "http://127.0.0.1:9/x?y=1");
    CHECK(proxy_log.hosts[0] == "127.0.0.1:9");
    CHECK(proxy_log.authorizations[0] == "Basic dTpw");
    CHECK(proxy_log.connects == 0);

    proxy_log.refuse = true;
    auto error = co_await failure_of(client, get("https://localhost:9/"));
    REQUIRE(error);
    CHECK(error->phase() == ClientPhase::proxy);
    CHECK(error->status() == 407);
    CHECK(std::string(error->what()).starts_with("proxy: CONNECT answered 407"));
  });
}

// ---------------------------------------------------------------- stop and cancellation

TEST_CASE("stop() fails an in-flight call promptly with phase stopped; later calls are refused") {
  Harness h;
  AsyncEvent seen(h.loop.get_executor());
  AsyncEvent server_saw_close(h.loop.get_executor());
  auto& server = h.server(stall(&seen));
  server.on_close = &server_saw_close;
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    std::optional<ClientError> in_flight;
    long long stop_took = 0, failed_after = 0;
    Clock::time_point stop_at;
    auto call = [&]() -> asio::awaitable<void> {
      in_flight = co_await failure_of(client, get(server.url("/slow")));
      failed_after = ms_since(stop_at);
    };
    auto stopper = [&]() -> asio::awaitable<void> {
      co_await seen.wait();
      stop_at = Clock::now();
      co_await client.stop();
      stop_took = ms_since(stop_at);
    };
    co_await (call() && stopper());
    REQUIRE(in_flight);
    CHECK(in_flight->phase() == ClientPhase::stopped);
    CHECK(std::string_view(in_flight->what()).starts_with("stopped: "));
    CHECK(failed_after < 1000);
    CHECK(stop_took < 1000);
    auto stats = client.stats();
    CHECK(stats.in_flight == 0);
    CHECK(stats.open_connections == 0);
    bool closed = co_await server_saw_close.wait_for(5s);
    CHECK(closed);

    auto refused = co_await failure_of(client, get(server.url("/")));
    REQUIRE(refused);
    CHECK(refused->phase() == ClientPhase::stopped);
  });
}

TEST_CASE("caller cancellation propagates as operation_aborted, not as a ClientError") {
  Harness h;
  AsyncEvent server_saw_close(h.loop.get_executor());
  auto& server = h.server(stall());
  server.on_close = &server_saw_close;
  auto& client = h.client();
  h.run([&]() -> asio::awaitable<void> {
    std::exception_ptr thrown;
    auto call = [&]() -> asio::awaitable<void> {
      try {
        co_await client.send(get(server.url("/slow")));
      } catch (...) {
        thrown = std::current_exception();
      }
    };
    const auto t0 = Clock::now();
    co_await (call() || pause(200ms));
    const auto took = ms_since(t0);
    CHECK(took < 1000);
    REQUIRE(thrown);
    bool aborted = false;
    try {
      std::rethrow_exception(thrown);
    } catch (const ClientError& e) {
      FAIL_CHECK("a ClientError: " << e.what());
    } catch (const boost::system::system_error& e) {
      aborted = e.code() == asio::error::operation_aborted;
    }
    CHECK(aborted);
    CHECK(client.stats().in_flight == 0);
    CHECK(client.stats().open_connections == 0);
    bool closed = co_await server_saw_close.wait_for(5s);
    CHECK(closed);
    CHECK(client.stats().failures_total == 0);
  });
}

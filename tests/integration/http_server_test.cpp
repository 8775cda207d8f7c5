// lib/http's Server in this process, with a route that takes a body (the
// application has none, so the e2e tests cannot reach this path): body
// limits, chunked bodies, 100-continue, the read buffer's cap on chunk lines
// and trailers, and a body trickled in. Real sockets on loopback; the server
// runs on a thread of its own, the test talks through tests/support/raw_http.

#include <doctest/doctest.h>

#include <unistd.h>

#include <future>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include "lib/http/server.hpp"
#include "tests/support/process_stats.hpp"
#include "tests/support/raw_http.hpp"

namespace asio = boost::asio;
using namespace svc::http;
using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The least a route documents: a summary and its answer.
RouteDoc doc(std::string summary) { return {std::move(summary), "", {}, false, {}, {{200, "ok", {}}}}; }

// POST /echo takes a body and answers its size; GET /health takes none.
class TestServer {
 public:
  explicit TestServer(ServerSettings settings) {
    router_.add(
        Verb::post, "/echo", doc("Echo the body's size"),
        [](RequestContext& ctx) -> asio::awaitable<Response> {
          co_return text_response(Status::ok, std::to_string(ctx.request.body().size()));
        },
        {.takes_body = true});
    router_.add(Verb::get, "/health", doc("Liveness"), [](RequestContext&) -> asio::awaitable<Response> {
      co_return text_response(Status::ok, "ok");
    });
    settings.host = "127.0.0.1";
    settings.port = 0;
    server_ = std::make_unique<Server>(ioc_, std::vector<asio::any_io_executor>{}, settings, 2s, router_, log_);
    thread_ = std::thread([this] { ioc_.run(); });
    asio::co_spawn(ioc_, server_->start(), asio::use_future).get();
  }
  ~TestServer() {
    asio::co_spawn(ioc_, server_->stop(), asio::use_future).get();
    work_.reset();
    thread_.join();
  }
  int port() const { return server_->local_port(); }
  std::string log() const { return log_text_.str(); }

 private:
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::ostringstream log_text_;
  spdlog::logger log_{"test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text_)};
  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

ServerSettings limits(std::size_t max_body, std::chrono::milliseconds header_timeout = 10s) {
  ServerSettings s;
  s.max_header_bytes = 4096;
  s.max_body_bytes = max_body;
  s.header_timeout = header_timeout;
  return s;
}

std::string echo(std::string_view extra) { return raw_request("POST", "/echo", extra); }

// Sends `bytes` on a new connection and reads the answer; the server must
// close the connection after it.
HttpResponse answer_then_close(int port, const std::string& bytes) {
  RawConnection c(port);
  REQUIRE(c.send(bytes));
  auto r = c.read_response();
  REQUIRE_MESSAGE(r, "no answer");
  CHECK(r->header("connection") == "close");
  CHECK(c.wait_closed(5s));
  return *r;
}

}  // namespace

TEST_CASE("a body up to MAX_BODY_BYTES is read on a route that takes one, and the connection goes on") {
  TestServer server(limits(100));
  INFO("server log:\n", server.log());
  RawConnection c(server.port());
  REQUIRE(c.send(echo("Content-Length: 100\r\n") + std::string(100, 'x')));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "100");
  REQUIRE(c.send(echo("Transfer-Encoding: chunked\r\n") + "a\r\n0123456789\r\n0\r\n\r\n"));
  auto chunked = c.read_response();
  REQUIRE(chunked);
  CHECK(chunked->body == "10");
  REQUIRE(c.send(raw_request("GET", "/health")));
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("over MAX_BODY_BYTES: 413 before the body is sent (Content-Length) or at the chunk, then close") {
  TestServer server(limits(100));
  INFO("server log:\n", server.log());
  auto announced = answer_then_close(server.port(), echo("Content-Length: 1000\r\n"));
  CHECK(announced.status == 413);
  CHECK(announced.body == R"j({"detail":"Request body too large (limit 100 bytes)"})j");
  CHECK(answer_then_close(server.port(), echo("Transfer-Encoding: chunked\r\n") + "c8\r\n").status == 413);
}

TEST_CASE("Expect: 100-continue: over the limit 413 and no 100; under it 100, then the answer") {
  TestServer server(limits(100));
  INFO("server log:\n", server.log());
  CHECK(answer_then_close(server.port(), echo("Content-Length: 1000\r\nExpect: 100-continue\r\n")).status == 413);

  RawConnection under(server.port());
  REQUIRE(under.send(echo("Content-Length: 10\r\nExpect: 100-continue\r\n")));
  auto go_on = under.read_response();
  REQUIRE(go_on);
  CHECK(go_on->status == 100);
  REQUIRE(under.send("0123456789"));
  auto answer = under.read_response();
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body == "10");
}

TEST_CASE("a route without a body answers before reading one: 413 on it, 405 on a path without the method") {
  TestServer server(limits(1024 * 1024));
  INFO("server log:\n", server.log());
  // 413, and no 100 Continue before it (read_response would return the 100).
  auto get = answer_then_close(server.port(),
                               raw_request("GET", "/health", "Content-Length: 1000000\r\nExpect: 100-continue\r\n"));
  CHECK(get.status == 413);
  auto post = answer_then_close(server.port(), raw_request("POST", "/health", "Content-Length: 1000000\r\n"));
  CHECK(post.status == 405);
  CHECK(post.header("allow") == "GET, HEAD");
}

TEST_CASE("an endless chunk extension or trailer is cut at the read buffer's cap: 400, memory bounded") {
  TestServer server(limits(1024 * 1024));
  INFO("server log:\n", server.log());
  // This process is the server: its RSS would grow by what it buffered
  // (64 MiB sent grew it by 66 MiB before the cap); the cap is 20 KiB.
  const long before = rss_kib(::getpid());
  for (const std::string& start : {std::string("1;"), std::string("0\r\nX-Trailer: ")}) {
    CAPTURE(start);
    const auto head = echo("Transfer-Encoding: chunked\r\n") + start;
    // 128 KiB without a line end, then the answer (read while the server
    // lingers: it discards up to 256 KiB before it closes).
    RawConnection c(server.port());
    REQUIRE(c.send(head + std::string(128 * 1024, 'a')));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body == R"({"detail":"Bad Request: chunk line or trailer section over 20480 bytes"})");
    CHECK(c.wait_closed(5s));
    // Without end: closed long before 64 MiB.
    auto f = flood(server.port(), head, 'a', 64u * 1024 * 1024, 10s);
    INFO("sent ", f.sent, " bytes");
    CHECK(f.closed);
    CHECK(f.sent < 64u * 1024 * 1024);
  }
  const long after = rss_kib(::getpid());
  INFO("RSS ", before, " KiB before, ", after, " KiB after");
  CHECK(after - before < 8 * 1024);

  // Still serving.
  auto ok = http_get(server.port(), "/health");
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("bad chunk sizes are 400 and close") {
  TestServer server(limits(1024 * 1024));
  INFO("server log:\n", server.log());
  for (std::string chunk : {"zz\r\n", "-1\r\n", "ffffffffffffffffff\r\n", "3\r\nabcXYZ\r\n"}) {
    CAPTURE(chunk);
    CHECK(answer_then_close(server.port(), echo("Transfer-Encoding: chunked\r\n") + chunk).status == 400);
  }
}

TEST_CASE("slowloris on the body: a body trickled in is cut at HEADER_TIMEOUT_SECONDS, without an answer") {
  TestServer server(limits(1024, 500ms));
  INFO("server log:\n", server.log());
  RawConnection slow(server.port());
  REQUIRE(slow.send(echo("Content-Length: 1000\r\n")));
  const auto t0 = Clock::now();
  bool closed = false;
  // One byte every 100 ms (bounded: 5 s) keeps every read short but the body unfinished.
  while (!closed && Clock::now() - t0 < 5s) {
    if (!slow.send("x")) break;
    closed = slow.wait_closed(100ms);
  }
  CHECK((closed || slow.wait_closed(2s)));
  CHECK(slow.unread().empty());
  CHECK(Clock::now() - t0 < 4s);
}

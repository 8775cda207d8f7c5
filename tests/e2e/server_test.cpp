// e2e: the real p2p-dashboard binary on a free loopback port, driven over raw
// sockets. Every test starts its own process (tests/support/service.hpp) so a
// limit or timeout set for one story cannot leak into another.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/raw_http.hpp"
#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kBanner = R"({"message":"P2P Dashboard API is running!"})";
constexpr std::string_view kOk = R"({"status":"ok"})";


bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

// {"detail":"..."} with a non-empty string detail.
bool is_detail_json(std::string_view body) {
  return starts_with(body, R"({"detail":")") && ends_with(body, R"("})") && body.size() > 13;
}

bool is_json(const HttpResponse& r) { return starts_with(r.header("content-type"), "application/json"); }

}  // namespace

TEST_CASE("GET / answers the banner as JSON with Content-Type, Date and a generated X-Request-ID") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  auto r = http_get(svc.port(), "/");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == kBanner);
  CHECK(is_json(*r));
  CHECK(ends_with(r->header("date"), " GMT"));
  CHECK(is_uuid(r->header("x-request-id")));
  CHECK(r->header("content-length") == std::to_string(kBanner.size()));
  // Start-up told its story in order.
  auto out = svc.output();
  CHECK(contains(out, "component http-listener started in "));
  CHECK(out.find("component http-listener started") < out.find(" ready\n"));
}

TEST_CASE("liveness and readiness probes answer once the service is ready") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  for (std::string path : {"/health", "/livez"}) {
    CAPTURE(path);
    auto r = http_get(svc.port(), path);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == kOk);
    CHECK(is_json(*r));
  }
  for (std::string path : {"/ready", "/readyz"}) {
    CAPTURE(path);
    auto r = http_get(svc.port(), path);
    REQUIRE(r);
    CHECK(r->status == 200);
    // A real database behind it (tests/support/service.cpp): both checks pass.
    CHECK(r->body == R"({"status":"ready","checks":{"telemetry":"ok","database":"ok","schema":"ok"}})");
    CHECK(is_json(*r));
  }
  auto verbose = http_get(svc.port(), "/ready?verbose");
  REQUIRE(verbose);
  CHECK(verbose->status == 200);
  CHECK(starts_with(verbose->header("content-type"), "text/plain"));
  CHECK(contains(verbose->body, "readyz check passed"));
  CHECK_FALSE(contains(verbose->body, "[-]"));
}

TEST_CASE("router errors are JSON: 404, 405 with Allow; HEAD has headers but no body") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails

  auto missing = http_get(svc.port(), "/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->body == R"({"detail":"Not Found"})");
  CHECK(is_json(*missing));
  CHECK(is_uuid(missing->header("x-request-id")));

  auto wrong_method = http_request(svc.port(), "POST", "/health");
  REQUIRE(wrong_method);
  CHECK(wrong_method->status == 405);
  CHECK(wrong_method->body == R"({"detail":"Method Not Allowed"})");
  CHECK(wrong_method->header("allow") == "GET, HEAD");
  CHECK(is_json(*wrong_method));

  // HEAD on a keep-alive connection: if any body bytes followed the head, the
  // next response on the same connection would not parse.
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("HEAD", "/health")));
  auto head = c.read_response(5s, /*head=*/true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-length") == "15");
  CHECK(is_json(*head));
  CHECK(head->body.empty());
  REQUIRE(c.send(raw_request("GET", "/health")));
  auto after = c.read_response();
  REQUIRE(after);
  CHECK(after->status == 200);
  CHECK(after->body == kOk);
}

// No route validates query parameters yet, so the 422 shape is covered by unit tests only.

TEST_CASE("a header bigger than MAX_HEADER_BYTES gets 431 JSON and the connection closes") {
  RunningService svc(p2p_binary(), {{"MAX_HEADER_BYTES", "2048"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails

  // Just under the limit is fine.
  auto small = http_get(svc.port(), "/health", "X-Padding: " + std::string(1024, 'a') + "\r\n");
  REQUIRE(small);
  CHECK(small->status == 200);

  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/health", "X-Big: " + std::string(4096, 'a') + "\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(is_json(*r));
  CHECK(is_detail_json(r->body));
  CHECK(is_uuid(r->header("x-request-id")));
  CHECK(c.wait_closed(5s));
}

TEST_CASE("a request body on a route that takes none is answered before it is sent, then the connection closes") {
  // No route of the application takes a body (tests/integration/http_server_test.cpp
  // covers one): the server answers from the header and never buffers the body.
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails

  RawConnection get(svc.port());
  REQUIRE(get.send(raw_request("GET", "/health", "Content-Length: 1000\r\n")));
  auto r = get.read_response();
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->body == R"({"detail":"Request body not accepted on this route"})");
  CHECK(get.wait_closed(5s));

  // A path without the method: its 405 does not depend on the body either.
  RawConnection post(svc.port());
  REQUIRE(post.send(raw_request("POST", "/health", "Content-Length: 100\r\n") + std::string(100, 'x')));
  auto wrong = post.read_response();
  REQUIRE(wrong);
  CHECK(wrong->status == 405);
  CHECK(wrong->header("connection") == "close");
  CHECK(post.wait_closed(5s));
}

TEST_CASE("Content-Length together with Transfer-Encoding is 400 and the connection closes") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(is_json(*r));
  CHECK(starts_with(r->body, R"({"detail":"Bad Request: )"));
  CHECK(c.wait_closed(5s));
}

TEST_CASE("a malformed request line is 400 and the connection closes") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(is_json(*r));
  CHECK(starts_with(r->body, R"({"detail":"Bad Request)"));
  CHECK(c.wait_closed(5s));
}

TEST_CASE("HTTP/1.1 keep-alive and HTTP/1.0 with and without keep-alive") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails

  SUBCASE("HTTP/1.1: three requests on one connection, all answered") {
    RawConnection c(svc.port());
    for (std::string path : {"/", "/health", "/livez"}) {
      CAPTURE(path);
      REQUIRE(c.send(raw_request("GET", path)));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->version == "HTTP/1.1");
      CHECK(r->header("connection") != "close");
    }
  }

  SUBCASE("HTTP/1.0 without keep-alive: one response, then close") {
    RawConnection c(svc.port());
    REQUIRE(c.send(raw_request("GET", "/health", "", "HTTP/1.0")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->version == "HTTP/1.0");
    CHECK(r->body == kOk);
    CHECK(c.wait_closed(5s));
  }

  SUBCASE("HTTP/1.0 with Connection: keep-alive stays open") {
    RawConnection c(svc.port());
    REQUIRE(c.send(raw_request("GET", "/health", "Connection: keep-alive\r\n", "HTTP/1.0")));
    auto first = c.read_response();
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK(first->version == "HTTP/1.0");
    CHECK(first->header("connection") == "keep-alive");
    REQUIRE(c.send(raw_request("GET", "/", "Connection: keep-alive\r\n", "HTTP/1.0")));
    auto second = c.read_response();
    REQUIRE(second);
    CHECK(second->status == 200);
    CHECK(second->body == kBanner);
  }
}

TEST_CASE("pipelined requests sent in one write are answered in order") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/", "X-Request-ID: pipe-1\r\n") + raw_request("GET", "/health", "X-Request-ID: pipe-2\r\n") +
                 raw_request("GET", "/nope", "X-Request-ID: pipe-3\r\n")));
  auto r1 = c.read_response();
  auto r2 = c.read_response();
  auto r3 = c.read_response();
  REQUIRE(r1);
  REQUIRE(r2);
  REQUIRE(r3);
  CHECK(r1->status == 200);
  CHECK(r1->body == kBanner);
  CHECK(r1->header("x-request-id") == "pipe-1");
  CHECK(r2->status == 200);
  CHECK(r2->body == kOk);
  CHECK(r2->header("x-request-id") == "pipe-2");
  CHECK(r3->status == 404);
  CHECK(r3->body == R"({"detail":"Not Found"})");
  CHECK(r3->header("x-request-id") == "pipe-3");
  // And the connection is still good for more.
  REQUIRE(c.send(raw_request("GET", "/livez")));
  auto r4 = c.read_response();
  REQUIRE(r4);
  CHECK(r4->status == 200);
}

TEST_CASE("X-Request-ID is echoed when sane and generated otherwise") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  auto id_for = [&](std::string_view header) {
    auto r = http_get(svc.port(), "/health", header);
    REQUIRE(r);
    CHECK(r->status == 200);
    return r->header("x-request-id");
  };
  CHECK(id_for("X-Request-ID: abc-123\r\n") == "abc-123");

  auto generated1 = id_for("");
  auto generated2 = id_for("");
  CHECK(is_uuid(generated1));
  CHECK(is_uuid(generated2));
  CHECK(generated1 != generated2);

  auto with_space = id_for("X-Request-ID: abc 123\r\n");
  CHECK(is_uuid(with_space));
  auto too_long = id_for("X-Request-ID: " + std::string(200, 'a') + "\r\n");
  CHECK(is_uuid(too_long));
  auto with_quote = id_for("X-Request-ID: a\"b<script>\r\n");
  CHECK(is_uuid(with_quote));
}

TEST_CASE("slowloris: a client that does not finish its header in HEADER_TIMEOUT_SECONDS is dropped") {
  RunningService svc(p2p_binary(), {{"HEADER_TIMEOUT_SECONDS", "0.5"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails

  SUBCASE("half a header, then silence") {
    RawConnection slow(svc.port());
    auto t0 = Clock::now();
    REQUIRE(slow.send("GET / HTTP/1.1\r\nHost: x\r\n"));

    // Meanwhile a normal client is served.
    auto r = http_get(svc.port(), "/health");
    REQUIRE(r);
    CHECK(r->status == 200);

    CHECK(slow.wait_closed(5s));
    CHECK(slow.unread().empty());  // dropped without a response
    CHECK(ms_since(t0) >= 400);
  }

  SUBCASE("a header trickled one line every 100 ms is dropped too (the timeout is for the whole header)") {
    RawConnection slow(svc.port());
    REQUIRE(slow.send("GET / HTTP/1.1\r\n"));
    auto t0 = Clock::now();
    bool closed = false;
    while (!closed && ms_since(t0) < 5000) {
      if (!slow.send("X-Trickle: a\r\n")) {
        closed = slow.wait_closed(1s);
        break;
      }
      closed = slow.wait_closed(100ms);  // also paces the trickle
    }
    CHECK(closed);
    CHECK(slow.unread().empty());
    CHECK(ms_since(t0) < 4000);
  }
}

TEST_CASE("an idle keep-alive connection is closed after IDLE_TIMEOUT_SECONDS") {
  RunningService svc(p2p_binary(), {{"IDLE_TIMEOUT_SECONDS", "0.5"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());

  // Activity resets the idle timer: three requests 300 ms apart span more than 0.5 s.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(raw_request("GET", "/health")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    if (i < 2) REQUIRE_FALSE(c.wait_closed(300ms));
  }

  auto t0 = Clock::now();
  CHECK(c.wait_closed(5s));
  CHECK(ms_since(t0) >= 400);
  CHECK(c.unread().empty());
}

TEST_CASE("slowloris: a connection that never sends a byte is dropped after HEADER_TIMEOUT_SECONDS") {
  // The first request's header is due HEADER_TIMEOUT_SECONDS after accept (as
  // nginx's client_header_timeout); IDLE_TIMEOUT_SECONDS is for keep-alive
  // connections between requests. Otherwise an attacker holds a connection for
  // the whole (long) idle timeout by connecting and saying nothing.
  RunningService svc(p2p_binary(), {{"HEADER_TIMEOUT_SECONDS", "0.5"}, {"IDLE_TIMEOUT_SECONDS", "60"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection silent(svc.port());
  auto t0 = Clock::now();
  CHECK(silent.wait_closed(5s));
  CHECK(silent.unread().empty());
  CHECK(ms_since(t0) >= 400);
}

TEST_CASE("error responses carry Content-Type, Date and X-Request-ID like every other response") {
  RunningService svc(p2p_binary(), {{"MAX_HEADER_BYTES", "2048"}, {"MAX_BODY_BYTES", "100"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  auto check_error = [&](std::string raw, int status) {
    CAPTURE(raw.substr(0, 40));
    RawConnection c(svc.port());
    REQUIRE(c.send(raw));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(is_json(*r));
    CHECK(is_detail_json(r->body));
    CHECK(r->header("date").size() == 29);  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    CHECK(ends_with(r->header("date"), " GMT"));
    CHECK(is_uuid(r->header("x-request-id")));
    CHECK(r->header("connection") == "close");
    CHECK(c.wait_closed(5s));
  };
  check_error(raw_request("GET", "/health", "X-Big: " + std::string(4096, 'a') + "\r\n"), 431);
  check_error(raw_request("GET", "/health", "Content-Length: 1000\r\n"), 413);
  check_error("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  check_error("THIS IS NOT HTTP\r\n\r\n", 400);
}

TEST_CASE("a request target longer than MAX_HEADER_BYTES is refused, not served") {
  RunningService svc(p2p_binary(), {{"MAX_HEADER_BYTES", "2048"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/health?pad=" + std::string(4096, 'a'))));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK((r->status == 431 || r->status == 414));
  CHECK(is_detail_json(r->body));
  CHECK(c.wait_closed(5s));
}

TEST_CASE("Expect: 100-continue on a route without a body: no 100 Continue, the answer, then close") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/health", "Content-Length: 10\r\nExpect: 100-continue\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(c.wait_closed(5s));
}

TEST_CASE("a request followed by a half-close (FIN) is still answered") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/", "X-Request-ID: fin-1\r\n")));
  c.shutdown_write();
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == kBanner);
  CHECK(r->header("x-request-id") == "fin-1");
  CHECK(c.wait_closed(5s));
}

TEST_CASE("Connection: close from an HTTP/1.1 client is honoured") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/health", "Connection: close\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  CHECK(c.wait_closed(5s));
}

TEST_CASE("a bad request in the middle of a pipeline: earlier answers intact, then 400 and close") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/health", "X-Request-ID: before-1\r\n") + "THIS IS NOT HTTP\r\n\r\n" +
                 raw_request("GET", "/", "X-Request-ID: after-1\r\n")));
  auto first = c.read_response();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->header("x-request-id") == "before-1");
  auto bad = c.read_response();
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(c.wait_closed(5s));
  CHECK(c.unread().empty());  // the request after the bad one is not answered
}

TEST_CASE("a long pipeline (200 requests in one write) is answered completely and in order") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection c(svc.port());
  std::string burst;
  for (int i = 0; i < 200; ++i)
    burst += raw_request("GET", i % 2 ? "/health" : "/", "X-Request-ID: burst-" + std::to_string(i) + "\r\n");
  REQUIRE(c.send(burst));
  for (int i = 0; i < 200; ++i) {
    CAPTURE(i);
    auto r = c.read_response();
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE(r->header("x-request-id") == "burst-" + std::to_string(i));
    REQUIRE(r->body == (i % 2 ? kOk : kBanner));
  }
}

TEST_CASE("query strings do not change routing; HEAD on a missing path is a bodiless 404") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  auto health = http_get(svc.port(), "/health?x=1&y");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto missing = http_get(svc.port(), "/nope?x=1");
  REQUIRE(missing);
  CHECK(missing->status == 404);

  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("HEAD", "/nope")));
  auto head = c.read_response(5s, /*head=*/true);
  REQUIRE(head);
  CHECK(head->status == 404);
  REQUIRE(c.send(raw_request("GET", "/livez")));
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(next->status == 200);
  CHECK(next->body == kOk);
}

TEST_CASE("many concurrent connections are all served") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 200; ++i) conns.push_back(std::make_unique<RawConnection>(svc.port()));
  for (int i = 0; i < 200; ++i) REQUIRE(conns[i]->send(raw_request("GET", "/health", "X-Request-ID: conn-" + std::to_string(i) + "\r\n")));
  for (int i = 0; i < 200; ++i) {
    CAPTURE(i);
    auto r = conns[i]->read_response();
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE(r->header("x-request-id") == "conn-" + std::to_string(i));
  }
}

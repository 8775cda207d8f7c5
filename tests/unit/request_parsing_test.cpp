#include <doctest/doctest.h>

#include <string>

#include <boost/beast/http/error.hpp>

#include "lib/http/request_parsing.hpp"

using namespace svc::http;
using Outcome = ParsedRequest::Outcome;

namespace {

Router test_routes() {
  Router router;
  // Parsing never calls a handler; a route needs a doc to be added.
  const RouteDoc doc{"a route", "", {}, false, {}, {{200, "ok", {}}}};
  router.add(Verb::get, "/health", doc, {});
  router.add(Verb::post, "/items", doc, {}, {.takes_body = true});
  return router;
}

}  // namespace

TEST_SUITE("request parsing (the server's reader, in memory)") {
  const Router router = test_routes();

  TEST_CASE("pipelined requests come one at a time; each consumes exactly its bytes") {
    const std::string first = "GET /health HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string second = "POST /items HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    const std::string both = first + second;
    auto parsed = parse_request(both, ServerSettings{}, router);
    REQUIRE(parsed.outcome == Outcome::request);
    CHECK(parsed.consumed == first.size());
    CHECK(parsed.request->target() == "/health");
    CHECK(parsed.decision.match.kind == Router::Match::Kind::found);
    auto next = parse_request(std::string_view(both).substr(parsed.consumed), ServerSettings{}, router);
    REQUIRE(next.outcome == Outcome::request);
    CHECK(next.consumed == second.size());
    CHECK(next.request->body() == "abc");
    CHECK(next.decision.read_body);
  }

  TEST_CASE("bytes that end inside a request ask for more; 100-continue is noticed after the header") {
    CHECK(parse_request("GET /health HTTP/1.1\r\nHost: a\r\n", ServerSettings{}, router).outcome == Outcome::need_more);
    auto waiting =
        parse_request("POST /items HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nab", ServerSettings{}, router);
    CHECK(waiting.outcome == Outcome::need_more);
    CHECK(waiting.expects_continue);
  }

  TEST_CASE("the limits give 431 and 413 with the limit in the detail; garbage gives 400; HTTP/2 gives 505") {
    ServerSettings tiny;
    tiny.max_header_bytes = 64;
    tiny.max_body_bytes = 4;
    auto header = parse_request("GET / HTTP/1.1\r\nCookie: " + std::string(100, 'c') + "\r\n\r\n", tiny, router);
    REQUIRE(header.outcome == Outcome::refused);
    CHECK(header.ec == bhttp::error::header_limit);
    CHECK(header.refusal->result() == Status::request_header_fields_too_large);
    CHECK(header.refusal->body().find("limit 64 bytes") != std::string::npos);

    auto body = parse_request("POST /items HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", tiny, router);
    CHECK(body.ec == bhttp::error::body_limit);
    CHECK(body.refusal->result() == Status::payload_too_large);

    auto bad = parse_request("GET /health HTTP/1.2\r\n\r\n", tiny, router);
    REQUIRE(bad.outcome == Outcome::refused);
    CHECK(bad.refusal->result() == Status::bad_request);
    auto preface = parse_request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", tiny, router);
    REQUIRE(preface.outcome == Outcome::refused);
    CHECK(preface.refusal->result() == Status::http_version_not_supported);
  }

  TEST_CASE("decisions at the header: no body on a route that takes none, an unread body closes, bad framing") {
    auto on_get = parse_request("GET /health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", ServerSettings{}, router);
    REQUIRE(on_get.outcome == Outcome::refused);
    CHECK(on_get.refusal->result() == Status::payload_too_large);

    auto unknown = parse_request("POST /nowhere HTTP/1.1\r\nContent-Length: 3\r\n\r\n", ServerSettings{}, router);
    REQUIRE(unknown.outcome == Outcome::request);  // answered 404 without reading the body, then closed
    CHECK(unknown.decision.close_after);
    CHECK(unknown.request->body().empty());

    auto gzip = parse_request("POST /items HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ServerSettings{}, router);
    REQUIRE(gzip.outcome == Outcome::refused);
    CHECK(gzip.refusal->result() == Status::bad_request);

    auto absolute = parse_request("GET http://h/health?x=1 HTTP/1.1\r\n\r\n", ServerSettings{}, router);
    REQUIRE(absolute.outcome == Outcome::request);
    CHECK(absolute.decision.target.path == "/health");
    CHECK(absolute.decision.target.query == "x=1");
  }

  TEST_CASE("an endless chunk extension stops at the read buffer's cap (400), not in memory") {
    ServerSettings tiny;
    tiny.max_header_bytes = 256;
    const std::string head = "POST /items HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;";
    const std::string bytes = head + std::string(read_buffer_limit(tiny) + 1024, 'a');
    auto parsed = parse_request(bytes, tiny, router);
    REQUIRE(parsed.outcome == Outcome::refused);
    CHECK(parsed.ec == bhttp::error::buffer_overflow);
    CHECK(parsed.refusal->result() == Status::bad_request);
  }
}

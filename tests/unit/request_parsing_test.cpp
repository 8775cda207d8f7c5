#include <doctest/doctest.h>

#include <string>

#include <boost/beast/http/error.hpp>

#include "lib/http/request_parsing.hpp"

using namespace svc::http;

TEST_SUITE("request parsing (the server's parser and limits)") {
  TEST_CASE("pipelined requests come one at a time; each consumes exactly its bytes") {
    const std::string first = "GET /health HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string second = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    auto parsed = parse_request(first + second, ServerSettings{});
    REQUIRE_FALSE(parsed.ec);
    CHECK(parsed.consumed == first.size());
    CHECK(parsed.request->target() == "/health");
    auto next = parse_request(std::string_view(first + second).substr(parsed.consumed), ServerSettings{});
    REQUIRE_FALSE(next.ec);
    CHECK(next.consumed == second.size());
    CHECK(next.request->body() == "abc");
  }

  TEST_CASE("bytes that end inside a request ask for more; 100-continue is noticed after the header") {
    CHECK(parse_request("GET /health HTTP/1.1\r\nHost: a\r\n", ServerSettings{}).ec == bhttp::error::need_more);
    auto waiting = parse_request("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nab", ServerSettings{});
    CHECK(waiting.ec == bhttp::error::need_more);
    CHECK(waiting.expects_continue);
  }

  TEST_CASE("the limits give 431 and 413 with the limit in the detail; garbage gives 400") {
    ServerSettings tiny;
    tiny.max_header_bytes = 64;
    tiny.max_body_bytes = 4;
    auto header = parse_request("GET / HTTP/1.1\r\nCookie: " + std::string(100, 'c') + "\r\n\r\n", tiny);
    CHECK(header.ec == bhttp::error::header_limit);
    auto r431 = request_error_response(header.ec, tiny);
    CHECK(r431.result() == Status::request_header_fields_too_large);
    CHECK(r431.body().find("limit 64 bytes") != std::string::npos);

    auto body = parse_request("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", tiny);
    CHECK(body.ec == bhttp::error::body_limit);
    CHECK(request_error_response(body.ec, tiny).result() == Status::payload_too_large);

    auto bad = parse_request("GET /health HTTP/9.9\r\n\r\n", tiny);
    REQUIRE(bad.ec);
    CHECK(request_error_response(bad.ec, tiny).result() == Status::bad_request);
  }

  TEST_CASE("split_target separates the path from the query at the first '?'") {
    std::string_view query;
    CHECK(split_target("/a/b?x=1?y", query) == "/a/b");
    CHECK(query == "x=1?y");
    CHECK(split_target("/a", query) == "/a");
    CHECK(query.empty());
  }
}

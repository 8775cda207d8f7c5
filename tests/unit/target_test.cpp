#include <doctest/doctest.h>

#include "lib/http/target.hpp"

using svc::http::parse_target;
using svc::http::Target;

TEST_CASE("origin form: path and query") {
  auto t = parse_target("/api/v1/offers?limit=5&x");
  REQUIRE(t);
  CHECK(t->form == Target::Form::origin);
  CHECK(t->path == "/api/v1/offers");
  CHECK(t->query == "limit=5&x");
  auto bare = parse_target("/health");
  REQUIRE(bare);
  CHECK(bare->path == "/health");
  CHECK(bare->query.empty());
}

TEST_CASE("absolute form (RFC 9112 section 3.2.2): the authority is dropped, an empty path is /") {
  auto t = parse_target("http://example.com:8080/health?x=1");
  REQUIRE(t);
  CHECK(t->form == Target::Form::absolute);
  CHECK(t->path == "/health");
  CHECK(t->query == "x=1");
  CHECK(parse_target("HTTPS://example.com/a")->path == "/a");
  CHECK(parse_target("http://example.com")->path == "/");
  auto query_only = parse_target("http://example.com?q");
  REQUIRE(query_only);
  CHECK(query_only->path == "/");
  CHECK(query_only->query == "q");
  CHECK(parse_target("http://[::1]:80/x")->path == "/x");
}

TEST_CASE("asterisk form") {
  auto t = parse_target("*");
  REQUIRE(t);
  CHECK(t->form == Target::Form::asterisk);
}

TEST_CASE("what is not a target we serve") {
  for (std::string_view bad : {"", "health", "example.com:443", "ftp://example.com/x", "http://", "http:///x",
                               "http://:80/x", "http://user@example.com/x", "/a#frag", "/caf\xC3\xA9", "/\xFF",
                               "/a b", "/a\x7F", "**"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_target(bad).has_value());
  }
}

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "lib/telemetry/trace_context.hpp"

using namespace svc::telemetry;

namespace {
constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
std::string view(const std::array<char, 32>& a) { return {a.data(), a.size()}; }
}  // namespace

TEST_CASE("a valid version 00 traceparent parses") {
  auto p = parse_traceparent(kValid);
  REQUIRE(p);
  CHECK(view(p->trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(std::string(p->parent_id.data(), 16) == "00f067aa0ba902b7");
  CHECK(p->flags == 1);
}

TEST_CASE("invalid traceparents are ignored") {
  CHECK_FALSE(parse_traceparent(""));
  CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));         // no flags
  CHECK_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));      // upper case
  CHECK_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));      // zero trace id
  CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));      // zero parent id
  CHECK_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));      // version ff
  CHECK_FALSE(parse_traceparent("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));      // not hex
  CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));  // 00 is exact
  CHECK_FALSE(parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));      // separator
  CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"));
}

TEST_CASE("a future version is read by its version-00 fields; what follows must start with '-'") {
  auto p = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
  REQUIRE(p);
  CHECK(view(p->trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  CHECK_FALSE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
}

TEST_CASE("the request keeps a valid incoming trace id, gets its own span id, and propagates both") {
  TraceIdGenerator gen(42);
  auto ctx = gen.next(kValid);
  CHECK(ctx.trace_id_view() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(ctx.span_id_view() != "00f067aa0ba902b7");
  TraceContext::Header buf;
  auto header = ctx.traceparent(buf);
  CHECK(header.substr(0, 36) == "00-4bf92f3577b34da6a3ce929d0e0e4736-");
  CHECK(header.substr(52) == "-01");
  auto reparsed = parse_traceparent(header);
  REQUIRE(reparsed);
  CHECK(std::string(reparsed->parent_id.data(), 16) == std::string(ctx.span_id_view()));
}

TEST_CASE("without a valid traceparent a new sampled trace starts; ids differ per request") {
  TraceIdGenerator gen(7);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto ctx = gen.next(i % 2 ? "garbage" : "");
    TraceContext::Header buf;
    CHECK(parse_traceparent(ctx.traceparent(buf)));
    CHECK(ctx.flags == 1);
    ids.insert(std::string(ctx.trace_id_view()));
  }
  CHECK(ids.size() == 100);
}

#include <doctest/doctest.h>

#include <set>

#include "lib/http/request_id.hpp"

using namespace svc::http;

TEST_CASE("client request ids are echoed only when safe") {
  CHECK(is_sane_request_id("abc-123"));
  CHECK(is_sane_request_id("7f1c9a2e-0b5d-4e8f-9c3a-1d2e3f4a5b6c"));
  CHECK(is_sane_request_id("trace:span/1+2=3@x_y.z"));
  CHECK(is_sane_request_id(std::string(128, 'a')));
  CHECK_FALSE(is_sane_request_id(""));
  CHECK_FALSE(is_sane_request_id(std::string(129, 'a')));
  CHECK_FALSE(is_sane_request_id("has space"));
  CHECK_FALSE(is_sane_request_id("line\nbreak"));
  CHECK_FALSE(is_sane_request_id("quote\"d"));
  CHECK_FALSE(is_sane_request_id("{json}"));
}

TEST_CASE("generated request ids are unique UUID v4 strings") {
  RequestIdGenerator gen(12345);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = gen.next();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[14] == '4');
    CHECK(id[18] == '-');
    CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    CHECK(id[23] == '-');
    CHECK(is_sane_request_id(id));
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
  CHECK(RequestIdGenerator(1).next() != RequestIdGenerator(2).next());
}

TEST_CASE("generators seeded like the server's connections (base + n * step) never repeat each other's ids") {
  // The server seeds connection n with base + n * 0x9e3779b97f4a7c15: before
  // the seed was mixed, connection n + 2's first id was connection n's second.
  constexpr std::uint64_t base = 0x1234567890abcdefULL;
  constexpr std::uint64_t step = 0x9e3779b97f4a7c15ULL;
  std::set<std::string> seen;
  constexpr int kConnections = 200, kIdsEach = 50;
  for (std::uint64_t n = 0; n < kConnections; ++n) {
    RequestIdGenerator gen(base + n * step);
    RequestIdGenerator::Buffer buffer;
    for (int i = 0; i < kIdsEach; ++i) seen.insert(std::string(gen.next(buffer)));
  }
  CHECK(seen.size() == kConnections * kIdsEach);
}

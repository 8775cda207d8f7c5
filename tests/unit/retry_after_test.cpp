#include "lib/http/retry_after.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using svc::http::parse_retry_after;

TEST_SUITE("retry-after") {
  // 1994-11-06T08:49:37Z, the RFC's example date.
  const auto rfc_example = std::chrono::sys_days{std::chrono::November / 6 / 1994} + 8h + 49min + 37s;

  TEST_CASE("delay-seconds, blanks around it allowed") {
    CHECK(parse_retry_after("120", {}) == 120s);
    CHECK(parse_retry_after(" 0\t", {}) == 0s);
  }

  TEST_CASE("an IMF-fixdate counts from now; one in the past is 0") {
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", rfc_example - 90s) == 90s);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", rfc_example - 1500ms) == 2s);  // rounded up
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", rfc_example + 1h) == 0s);
  }

  TEST_CASE("anything else is no value, not a guess") {
    for (const char* bad : {"", "soon", "-5", "1.5", "12abc", "Sun, 06 Nov 1994 08:49:37 UTC",
                            "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
                            "Sun, 06 Foo 1994 08:49:37 GMT", "99999999999999999999"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_retry_after(bad, rfc_example));
    }
  }
}

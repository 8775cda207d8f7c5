#include "lib/pg/timestamp.hpp"

#include <doctest/doctest.h>

using svc::pg::format_timestamp;
using svc::pg::in_timestamp_range;
using svc::pg::parse_timestamp;

namespace {
std::string round_trip(std::string_view text) {
  auto t = parse_timestamp(text);
  return t ? format_timestamp(*t) : std::string("invalid");
}
}  // namespace

TEST_SUITE("timestamp") {
  TEST_CASE("PostgreSQL's ISO output and ISO 8601 forms, normalised to UTC") {
    CHECK(round_trip("2026-11-23 09:32:53.573555+00") == "2026-11-23T09:32:53.573555Z");
    CHECK(round_trip("2026-11-23T09:32:53Z") == "2026-11-23T09:32:53.000000Z");
    CHECK(round_trip("2026-11-23T09:32:53") == "2026-11-23T09:32:53.000000Z");
    CHECK(round_trip("2026-11-23T09:32:53.5+05:30") == "2026-11-23T04:02:53.500000Z");
    CHECK(round_trip("2026-11-23 01:00:00-03") == "2026-11-23T04:00:00.000000Z");
    CHECK(round_trip("2026-11-23") == "2026-11-23T00:00:00.000000Z");
    CHECK(round_trip("2024-02-29T23:59:59.999999Z") == "2024-02-29T23:59:59.999999Z");
  }

  TEST_CASE("fractions of every length: PostgreSQL drops trailing zeros; past a microsecond is dropped") {
    CHECK(round_trip("2026-11-23 09:32:53.1+00") == "2026-11-23T09:32:53.100000Z");
    CHECK(round_trip("2026-11-23 09:32:53.12+00") == "2026-11-23T09:32:53.120000Z");
    CHECK(round_trip("2026-11-23 09:32:53.123+00") == "2026-11-23T09:32:53.123000Z");
    CHECK(round_trip("2026-11-23 09:32:53.1234+00") == "2026-11-23T09:32:53.123400Z");
    CHECK(round_trip("2026-11-23 09:32:53.12345+00") == "2026-11-23T09:32:53.123450Z");
    CHECK(round_trip("2026-11-23 09:32:53.000001+00") == "2026-11-23T09:32:53.000001Z");
    CHECK(round_trip("2026-11-23T09:32:53.123456789Z") == "2026-11-23T09:32:53.123456Z");
    CHECK(round_trip("2026-11-23T09:32:53.1234569") == "2026-11-23T09:32:53.123456Z");
  }

  TEST_CASE("anything else is rejected") {
    for (const char* bad : {"", "yesterday", "2026-11-23T", "2026-13-01", "2023-02-29", "2026-11-23T24:00:00",
                            "2026-11-23T10:60:00", "2026-11-23T10:00:00.", "2026-11-23T10:00:00+2",
                            "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00Zjunk", "2026/11/23", "26-11-23"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_timestamp(bad).has_value());
    }
  }

  TEST_CASE("what PostgreSQL takes back: years 1 to 9999 in UTC") {
    CHECK(in_timestamp_range(*parse_timestamp("0001-01-01T00:00:00Z")));
    CHECK(in_timestamp_range(*parse_timestamp("9999-12-31T23:59:59.999999Z")));
    CHECK(in_timestamp_range(*parse_timestamp("2026-11-23")));
    CHECK_FALSE(in_timestamp_range(*parse_timestamp("0000-06-01")));
    CHECK_FALSE(in_timestamp_range(*parse_timestamp("0001-01-01T00:00:00+01:00")));
    CHECK_FALSE(in_timestamp_range(*parse_timestamp("9999-12-31T23:59:59-01:00")));
    CHECK_FALSE(in_timestamp_range(svc::pg::Micros{std::chrono::microseconds{INT64_MAX}}));
    CHECK_FALSE(in_timestamp_range(svc::pg::Micros{std::chrono::microseconds{INT64_MIN}}));
  }
}

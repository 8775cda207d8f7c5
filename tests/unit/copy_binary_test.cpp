#include "lib/pg/copy_binary.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;

namespace {
// The bytes as hex, two digits each, for readable comparisons.
std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

template <class F>
std::string encoded(F append) {
  std::string out;
  append(out);
  return hex(out);
}
}  // namespace

TEST_SUITE("copy_binary") {
  TEST_CASE("the data starts with the signature, no flags, no extension, and ends with a field count of -1") {
    std::string data;
    svc::pg::begin_copy_binary(data);
    CHECK(hex(data) == "5047434f50590aff0d0a00" "00000000" "00000000");
    data.clear();
    svc::pg::end_copy_binary(data);
    CHECK(hex(data) == "ffff");
    CHECK(encoded([](auto& o) { svc::pg::begin_copy_row(o, 15); }) == "000f");
  }

  TEST_CASE("integers and doubles: a length, then the value in network byte order") {
    CHECK(encoded([](auto& o) { svc::pg::append_copy_int4(o, 200); }) == "00000004" "000000c8");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_int4(o, -1); }) == "00000004" "ffffffff");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_int8(o, 0x0102030405060708); }) == "00000008" "0102030405060708");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_int8(o, -2); }) == "00000008" "fffffffffffffffe");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_float8(o, 1.5); }) == "00000008" "3ff8000000000000");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_float8(o, -0.0); }) == "00000008" "8000000000000000");
  }

  TEST_CASE("text is its bytes as they are; the empty text is not NULL; NULL has length -1") {
    CHECK(encoded([](auto& o) { svc::pg::append_copy_text(o, "a\tb\\N"); }) == "00000005" "6109625c4e");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_text(o, "é"); }) == "00000002" "c3a9");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_text(o, ""); }) == "00000000");
    CHECK(encoded([](auto& o) { svc::pg::append_copy_null(o); }) == "ffffffff");
  }

  TEST_CASE("timestamptz: microseconds since 2000-01-01 UTC, finer precision truncated toward the past") {
    using std::chrono::sys_days;
    using std::chrono::year;
    const auto y2k = sys_days{year{2000} / 1 / 1};
    CHECK(encoded([&](auto& o) { svc::pg::append_copy_timestamptz(o, y2k); }) == "00000008" "0000000000000000");
    CHECK(encoded([&](auto& o) { svc::pg::append_copy_timestamptz(o, y2k + 1s + 999ns); }) ==
          "00000008" "00000000000f4240");  // 1,000,000 µs
    CHECK(encoded([&](auto& o) { svc::pg::append_copy_timestamptz(o, y2k - 1ns); }) ==
          "00000008" "ffffffffffffffff");  // -1 µs, not 0
    // 1970-01-01: 946,684,800 s before PostgreSQL's epoch.
    CHECK(encoded([&](auto& o) { svc::pg::append_copy_timestamptz(o, std::chrono::system_clock::time_point{}); }) ==
          "00000008" "fffca2fec4c82000");
  }
}

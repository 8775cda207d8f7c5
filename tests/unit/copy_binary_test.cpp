#include "lib/pg/copy_binary.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using svc::pg::CopyRow;

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

// One row of one field, as hex; the field count (0001) is left out.
template <class F>
std::string field(F write, std::size_t text_bytes = 0) {
  std::string out = "keep";
  {
    CopyRow row(out, 1, text_bytes);
    write(row);
  }
  REQUIRE(out.substr(0, 4) == "keep");
  REQUIRE(hex(out.substr(4, 2)) == "0001");
  return hex(out.substr(6));
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
  }

  TEST_CASE("a row is its field count, then its fields, and takes no more room than it used") {
    std::string out;
    {
      CopyRow row(out, 15, 100);
      for (int i = 0; i < 15; ++i) row.null();
    }
    CHECK(out.size() == 2 + 15 * 4);
    CHECK(hex(out.substr(0, 6)) == "000f" "ffffffff");
  }

  TEST_CASE("integers and doubles: a length, then the value in network byte order") {
    CHECK(field([](CopyRow& r) { r.int4(200); }) == "00000004" "000000c8");
    CHECK(field([](CopyRow& r) { r.int4(-1); }) == "00000004" "ffffffff");
    CHECK(field([](CopyRow& r) { r.int8(0x0102030405060708); }) == "00000008" "0102030405060708");
    CHECK(field([](CopyRow& r) { r.int8(-2); }) == "00000008" "fffffffffffffffe");
    CHECK(field([](CopyRow& r) { r.float8(1.5); }) == "00000008" "3ff8000000000000");
    CHECK(field([](CopyRow& r) { r.float8(-0.0); }) == "00000008" "8000000000000000");
  }

  TEST_CASE("text is its bytes as they are; the empty text is not NULL; NULL has length -1") {
    CHECK(field([](CopyRow& r) { r.text("a\tb\\N"); }, 5) == "00000005" "6109625c4e");
    CHECK(field([](CopyRow& r) { r.text("é"); }, 2) == "00000002" "c3a9");
    CHECK(field([](CopyRow& r) { r.text(""); }) == "00000000");
    CHECK(field([](CopyRow& r) { r.null(); }) == "ffffffff");
  }

  TEST_CASE("timestamptz: microseconds since 2000-01-01 UTC, finer precision truncated toward the past") {
    const auto y2k = std::chrono::sys_days{std::chrono::year{2000} / 1 / 1};
    CHECK(field([&](CopyRow& r) { r.timestamptz(y2k); }) == "00000008" "0000000000000000");
    CHECK(field([&](CopyRow& r) { r.timestamptz(y2k + 1s + 999ns); }) == "00000008" "00000000000f4240");  // 1e6 µs
    CHECK(field([&](CopyRow& r) { r.timestamptz(y2k - 1ns); }) == "00000008" "ffffffffffffffff");  // -1 µs, not 0
    // 1970-01-01: 946,684,800 s before PostgreSQL's epoch.
    CHECK(field([](CopyRow& r) { r.timestamptz(std::chrono::system_clock::time_point{}); }) ==
          "00000008" "fffca2fec4c82000");
  }
}

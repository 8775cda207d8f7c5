// The decimal parser (app/exchanges/decimal.*): exchange text, or a JSON
// double, to numeric(20,8) text. What comes out is canonical (a fixed point
// of the parser), at most 12 integer and 8 fraction digits, and within half
// a unit of the 8th decimal of what went in (long double as the oracle).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "app/exchanges/decimal.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using p2p::ParsedDecimal;

void check_canonical(const std::string& value) {
  FUZZ_CHECK(!value.empty());
  auto dot = value.find('.');
  std::string_view integer = std::string_view(value).substr(0, dot);
  FUZZ_CHECK(!integer.empty() && integer.size() <= 12);
  FUZZ_CHECK(integer == "0" || integer.front() != '0');
  for (char c : integer) FUZZ_CHECK(c >= '0' && c <= '9');
  if (dot != std::string::npos) {
    std::string_view fraction = std::string_view(value).substr(dot + 1);
    FUZZ_CHECK(!fraction.empty() && fraction.size() <= 8 && fraction.back() != '0');
    for (char c : fraction) FUZZ_CHECK(c >= '0' && c <= '9');
  }
  auto again = p2p::parse_decimal(value);
  FUZZ_CHECK(again.value && *again.value == value);
}

// |canonical - exact| <= half a unit in the 8th place (plus long double error).
void check_close(const std::string& value, long double exact) {
  long double got = std::strtold(value.c_str(), nullptr);
  FUZZ_CHECK(std::fabs(got - exact) <= 5e-9L + 1e-15L * std::fabs(exact));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] == 'D' && size == 1 + sizeof(double)) {  // a JSON double
    double d;
    std::memcpy(&d, data + 1, sizeof d);
    ParsedDecimal parsed = p2p::decimal_from_double(d);
    if (!parsed.value) {
      FUZZ_CHECK(!parsed.error.empty());
      return 0;
    }
    FUZZ_CHECK(std::isfinite(d) && d >= 0);
    check_canonical(*parsed.value);
    check_close(*parsed.value, d);
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParsedDecimal parsed = p2p::parse_decimal(text);
  if (!parsed.value) {
    FUZZ_CHECK(!parsed.error.empty());
    return 0;
  }
  check_canonical(*parsed.value);
  std::string plain;  // the accepted text without blanks and thousands separators
  for (char c : text)
    if (c != ',' && c != ' ' && c != '\t' && c != '\r' && c != '\n') plain.push_back(c);
  FUZZ_CHECK(plain.find_first_not_of("0123456789.") == std::string::npos);
  check_close(*parsed.value, std::strtold(plain.c_str(), nullptr));
  return 0;
}

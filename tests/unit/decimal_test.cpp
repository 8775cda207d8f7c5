#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "app/exchanges/decimal.hpp"

using p2p::decimal_from_double;
using p2p::parse_decimal;

namespace {
std::string canonical(std::string_view text) { return parse_decimal(text).value.value_or("<rejected>"); }
std::string error_of(std::string_view text) { return parse_decimal(text).error; }
std::string from_double(double d) { return decimal_from_double(d).value.value_or("<rejected>"); }
}  // namespace

TEST_CASE("decimal strings become canonical: no leading or trailing zeros, no separators") {
  CHECK(canonical("36.50") == "36.5");
  CHECK(canonical(" 1,234.50 ") == "1234.5");
  CHECK(canonical("\t1,234,567.891\n") == "1234567.891");
  CHECK(canonical("1234") == "1234");
  CHECK(canonical("100") == "100");
  CHECK(canonical("100.000") == "100");
  CHECK(canonical("007.10") == "7.1");
  CHECK(canonical("0") == "0");
  CHECK(canonical("0.000") == "0");
  CHECK(canonical("0.00000001") == "0.00000001");
  CHECK(canonical(".5") == "0.5");
  CHECK(canonical("5.") == "5");
  CHECK(canonical("999,999,999,999.99999999") == "999999999999.99999999");
  CHECK(canonical("000000000000001") == "1");  // leading zeros are not integer digits
}

TEST_CASE("more than 8 fraction digits round half away from zero, as numeric(20,8) does") {
  CHECK(canonical("0.123456785") == "0.12345679");
  CHECK(canonical("0.123456784999") == "0.12345678");
  CHECK(canonical("0.000000005") == "0.00000001");
  CHECK(canonical("0.000000004") == "0");
  CHECK(canonical("1.000000004") == "1");
  CHECK(canonical("0.999999995") == "1");
  CHECK(canonical("99.999999999") == "100");
}

TEST_CASE("numbers beyond numeric(20,8) are rejected, also when rounding carries into a 13th digit") {
  CHECK(error_of("1234567890123") == "more than 12 integer digits");
  CHECK(error_of("1,234,567,890,123") == "more than 12 integer digits");
  CHECK(error_of("999999999999.999999995") == "more than 12 integer digits");
  CHECK(canonical("999999999999.999999994") == "999999999999.99999999");
}

TEST_CASE("garbage, signs, exponents and misplaced separators are rejected with a reason") {
  CHECK(error_of("") == "empty");
  CHECK(error_of("   ") == "empty");
  CHECK(error_of("-1") == "negative");
  CHECK(error_of(" -0.5") == "negative");
  CHECK(error_of("abc") == "not a decimal: \"abc\"");
  for (std::string_view bad : {"+1", "1.2.3", "12e5", "1E5", "1,23.4", "1,2345", ",123", "1,,234", "1,234,", "0,123",
                               "1 234", ".", "NaN", "inf", "0x10", "1.5%", "1.-5"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_decimal(bad).value);
    CHECK(parse_decimal(bad).error.rfind("not a decimal: ", 0) == 0);
  }
}

TEST_CASE("a rejected input is quoted short and printable in the reason") {
  CHECK(error_of("a\nb") == "not a decimal: \"a?b\"");
  CHECK(error_of(std::string(40, 'x')) == "not a decimal: \"" + std::string(32, 'x') + "...\"");
}

TEST_CASE("JSON doubles print in their shortest round-trip form, never with an exponent") {
  CHECK(from_double(36.5) == "36.5");
  CHECK(from_double(0.1) == "0.1");
  CHECK(from_double(1e-8) == "0.00000001");
  CHECK(from_double(1e-9) == "0");  // "0.000000001" rounded to 8 places
  CHECK(from_double(0.123456785) == "0.12345679");
  CHECK(from_double(123456789012.0) == "123456789012");
  CHECK(from_double(0.0) == "0");
  CHECK(from_double(-0.0) == "0");
  CHECK(from_double(5e-324) == "0");
  CHECK(decimal_from_double(1e12).error == "more than 12 integer digits");
  CHECK(decimal_from_double(1e300).error == "more than 12 integer digits");
  CHECK(decimal_from_double(std::numeric_limits<double>::max()).error == "more than 12 integer digits");
  CHECK(decimal_from_double(-1.5).error == "negative");
  CHECK(decimal_from_double(std::nan("")).error == "not a finite number");
  CHECK(decimal_from_double(std::numeric_limits<double>::infinity()).error == "not a finite number");
}

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "app/exchanges/exchange_json.hpp"

using namespace p2p;
namespace json = boost::json;

namespace {
ParsedDecimal decimal_of(std::string_view json_text) { return decimal_value(json::parse(json_text)); }
std::string canonical(std::string_view json_text) { return decimal_of(json_text).value.value_or("<rejected>"); }
}  // namespace

TEST_CASE("JSON numbers are decimals too: int64, uint64 and doubles, exponents included") {
  CHECK(canonical("1234") == "1234");
  CHECK(canonical("0") == "0");
  CHECK(canonical("999999999999") == "999999999999");
  CHECK(canonical("36.5") == "36.5");
  CHECK(canonical("1.2e6") == "1200000");
  CHECK(canonical("1e-9") == "0");
  CHECK(canonical("0.123456785") == "0.12345679");
  CHECK(canonical(R"(" 1,234.50 ")") == "1234.5");
}

TEST_CASE("JSON numbers beyond numeric(20,8), negative numbers and other kinds are rejected") {
  CHECK(decimal_of("1000000000000").error == "more than 12 integer digits");
  CHECK(decimal_of("18446744073709551615").error == "more than 12 integer digits");          // uint64
  CHECK(decimal_of("123456789012345678901234567890").error == "more than 12 integer digits");  // a double
  CHECK(decimal_of("-1").error == "negative");
  CHECK(decimal_of("-0.5").error == "negative");
  CHECK(decimal_of("null").error == "null");
  CHECK(decimal_of("true").error == "not a number");
  CHECK(decimal_of("[1]").error == "not a number");
  CHECK(decimal_of(R"("12e5")").error == R"(not a decimal: "12e5")");
}

TEST_CASE("text values: strings verbatim, integers in decimal, nothing else") {
  CHECK(text_value(json::parse(R"(" <b>Zoë</b> ")")) == " <b>Zoë</b> ");
  CHECK(text_value(json::parse("-42")) == "-42");
  CHECK(text_value(json::parse("11530432151342977024")) == "11530432151342977024");
  CHECK_FALSE(text_value(json::parse("1.5")));
  CHECK_FALSE(text_value(json::parse("null")));
  CHECK_FALSE(text_value(json::parse("{}")));
  CHECK(name_or_unknown(std::nullopt) == "Unknown");
  CHECK(name_or_unknown(" \t ") == "Unknown");
  CHECK(name_or_unknown(" Ana ") == "Ana");
}

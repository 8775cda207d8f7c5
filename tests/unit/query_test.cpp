#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "lib/http/query.hpp"

using namespace svc::http;
namespace json = boost::json;

namespace {
bool upper_alnum_2_10(std::string_view s) {
  if (s.size() < 2 || s.size() > 10) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return true;
}
json::value body_of(const std::vector<FieldError>& errors) { return json::parse(validation_response(errors).body()); }
}  // namespace

TEST_CASE("typed query parameters with defaults") {
  QueryParams q("fiat=VES&rows=5&tradeType=SELL&verbose");
  CHECK(q.integer("rows", 20, 1, 20) == 5);
  CHECK(q.integer("page", 1, 1, 100) == 1);
  CHECK(q.literal("tradeType", "BUY", {"BUY", "SELL"}) == "SELL");
  CHECK(q.matching("fiat", "VES", "^[A-Z0-9]{2,10}$", upper_alnum_2_10) == "VES");
  CHECK(q.matching("asset", "USDT", "^[A-Z0-9]{2,10}$", upper_alnum_2_10) == "USDT");
  CHECK(q.has("verbose"));
  CHECK_FALSE(q.has("missing"));
  CHECK(q.errors().empty());
  CHECK_NOTHROW(q.finish());
}

TEST_CASE("query values are percent-decoded, '+' is a space, the first value wins") {
  QueryParams q("name=Bank+Transfer&x=%41%42&x=second");
  CHECK(*q.get("name") == "Bank Transfer");
  CHECK(*q.get("x") == "AB");
  CHECK_THROWS_AS(QueryParams("x=%G1"), HttpError);
}

TEST_CASE("every invalid parameter is reported at once in FastAPI's 422 shape") {
  QueryParams q("rows=50&page=abc&tradeType=HOLD&fiat=ves");
  q.integer("rows", 20, 1, 20);
  q.integer("page", 1, 1, 100);
  q.literal("tradeType", "BUY", {"BUY", "SELL"});
  q.matching("fiat", "VES", "^[A-Z0-9]{2,10}$", upper_alnum_2_10);
  REQUIRE(q.errors().size() == 4);
  CHECK_THROWS_AS(q.finish(), ValidationError);

  auto res = validation_response(q.errors());
  CHECK(res.result() == Status::unprocessable_entity);
  CHECK(res[boost::beast::http::field::content_type] == "application/json");
  auto body = json::parse(res.body());
  auto& detail = body.at("detail").as_array();
  CHECK(json::serialize(detail[0]) ==
        R"({"type":"less_than_equal","loc":["query","rows"],"msg":"Input should be less than or equal to 20","input":"50","ctx":{"le":20}})");
  CHECK(json::serialize(detail[1]) ==
        R"({"type":"int_parsing","loc":["query","page"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"})");
  CHECK(json::serialize(detail[2]) ==
        R"({"type":"literal_error","loc":["query","tradeType"],"msg":"Input should be 'BUY' or 'SELL'","input":"HOLD","ctx":{"expected":"'BUY' or 'SELL'"}})");
  CHECK(json::serialize(detail[3]) ==
        R"({"type":"string_pattern_mismatch","loc":["query","fiat"],"msg":"String should match pattern '^[A-Z0-9]{2,10}$'","input":"ves","ctx":{"pattern":"^[A-Z0-9]{2,10}$"}})");
}

TEST_CASE("integer edges: bounds inclusive, junk, overflow, lower bound message") {
  QueryParams q("a=1&b=20&c=0&d=12x&e=99999999999999999999&f=&g=%2B3");
  CHECK(q.integer("a", 7, 1, 20) == 1);
  CHECK(q.integer("b", 7, 1, 20) == 20);
  CHECK(q.integer("c", 7, 1, 20) == 7);
  CHECK(q.integer("d", 7, 1, 20) == 7);
  CHECK(q.integer("e", 7, 1, 20) == 7);
  CHECK(q.integer("f", 7, 1, 20) == 7);
  CHECK(q.integer("g", 7, 1, 20) == 3);
  auto body = body_of(q.errors());
  auto& d = body.at("detail").as_array();
  REQUIRE(d.size() == 4);
  CHECK(d[0].at("type") == "greater_than_equal");
  CHECK(d[0].at("msg") == "Input should be greater than or equal to 1");
  CHECK(d[0].at("ctx").at("ge") == 1);
  CHECK(d[1].at("type") == "int_parsing");
  CHECK(d[2].at("type") == "int_parsing");
  CHECK(d[3].at("type") == "int_parsing");
  CHECK(d[3].at("input") == "");
}

TEST_CASE("integer edges: int64 bounds and beyond, one sign only") {
  QueryParams bounds("max=9223372036854775807&min=-9223372036854775808");
  CHECK(bounds.integer("max", 7, INT64_MIN, INT64_MAX) == INT64_MAX);
  CHECK(bounds.integer("min", 7, INT64_MIN, INT64_MAX) == INT64_MIN);
  for (std::string raw : {"9223372036854775808", "-9223372036854775809", "%2B-1", "%2B%2B1", "--1", "%2B", "-"}) {
    CAPTURE(raw);
    QueryParams q("x=" + raw);
    CHECK(q.integer("x", 7, INT64_MIN, INT64_MAX) == 7);
    REQUIRE(q.errors().size() == 1);
    CHECK(q.errors()[0].type == "int_parsing");
  }
  QueryParams limit("limit=9223372036854775807");
  limit.integer("limit", 50, 1, 500);
  REQUIRE(limit.errors().size() == 1);
  CHECK(limit.errors()[0].type == "less_than_equal");
}

TEST_CASE("an input that is not UTF-8 is echoed as U+FFFD: the 422 stays valid JSON") {
  QueryParams q("fiat=%FF%FEx");
  q.matching("fiat", "VES", "^[A-Z0-9]{2,10}$", upper_alnum_2_10);
  auto res = validation_response(q.errors());
  auto body = json::parse(res.body());  // Boost.JSON rejects invalid UTF-8
  CHECK(body.at("detail").at(0).at("input") == "\xEF\xBF\xBD\xEF\xBF\xBDx");
}

TEST_CASE("booleans and literals with three alternatives") {
  QueryParams q("on=TRUE&off=0&bad=maybe&ex=kraken");
  CHECK(q.boolean("on", false));
  CHECK_FALSE(q.boolean("off", true));
  CHECK(q.boolean("bad", true));
  q.literal("ex", "binance", {"binance", "bybit", "okx"});
  auto body = body_of(q.errors());
  auto& d = body.at("detail").as_array();
  REQUIRE(d.size() == 2);
  CHECK(d[0].at("type") == "bool_parsing");
  CHECK(d[1].at("msg") == "Input should be 'binance', 'bybit' or 'okx'");
}

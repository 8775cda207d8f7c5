#include <doctest/doctest.h>

#include <stdexcept>

#include "app/exchanges/exchange_mapping.hpp"
#include "tests/support/captured_log.hpp"
#include "tests/support/offer_check.hpp"

using namespace p2p;

namespace {

const Market ves_sell{"VES", "USDT", "SELL", 2, 5};

std::string ok(std::string_view result) {
  std::string body = R"({"ret_code":0,"ret_msg":"SUCCESS","result":)";
  body.append(result).append(R"(,"ext_code":"","time_now":"1700000000.1"})");
  return body;
}

// One item with the given id and payment members ("payments", "paymentTerms").
std::string item(std::string_view id, std::string_view payment_members = R"("payments":[])") {
  std::string out = R"({"id":)";
  out.append(id).append(R"(,"nickName":"Luis","tokenId":"USDT","currencyId":"VES","side":1,"price":"36.55",)");
  out.append(R"("lastQuantity":"1,250.5","minAmount":"100.00","maxAmount":"45000",)").append(payment_members);
  out.append("}");
  return out;
}

std::string items(std::string_view list) {
  std::string result = R"({"count":1,"items":[)";
  result.append(list).append("]}");
  return ok(result);
}

FetchResult map(std::string_view body, test_support::CapturedLog& log) {
  return map_bybit_offers(body, ves_sell, "req-7", log.logger);
}

}  // namespace

TEST_CASE("bybit: the search body maps BUY to side \"1\" and SELL to \"0\", sizes as strings") {
  CHECK(bybit_search_body(Market{"VES", "USDT", "BUY", 1, 20}) ==
        R"({"userId":"","tokenId":"USDT","currencyId":"VES","payment":[],"side":"1","size":"20","page":"1",)"
        R"("amount":"","authMaker":false,"canTrade":false})");
  CHECK(bybit_search_body(ves_sell).find(R"("side":"0","size":"5","page":"2")") != std::string::npos);
  CHECK_THROWS_AS(bybit_search_body(Market{"VES", "USDT", "HOLD", 1, 20}), std::invalid_argument);
}

TEST_CASE("bybit: an offer maps with the requested market and canonical numbers") {
  test_support::CapturedLog log;
  auto result = map(items(item(R"("1890123456789")")), log);
  test_support::check_only_offer(
      result, Offer{.exchange = "bybit", .external_id = "1890123456789", .fiat = "VES", .asset = "USDT",
                    .trade_type = "SELL", .price = "36.55", .available = "1250.5", .min_limit = "100",
                    .max_limit = "45000", .payment_methods = {}, .advertiser = "Luis"});
}

TEST_CASE("bybit: payment names come from paymentTerms when it names them") {
  test_support::CapturedLog log;
  auto result = map(items(item(R"("1")", R"("payments":["14","377"],"paymentTerms":[)"
                                         R"({"paymentType":14,"paymentConfig":{"paymentName":"Transferencia"}},)"
                                         R"({"paymentType":377,"paymentConfig":{"paymentName":""}},)"
                                         R"({"paymentType":"999","paymentConfig":null},)"
                                         R"({"paymentType":5,"paymentConfig":{"paymentName":" Transferencia "}}])")),
                    log);
  REQUIRE(result.offers.size() == 1);
  // Terms without a name fall back to their paymentType through the table.
  CHECK(result.offers[0].payment_methods ==
        std::vector<std::string>{"Transferencia", "Pago Movil", "Bybit payment 999"});
}

TEST_CASE("bybit: without paymentTerms, payment ids go through the table; unknown ids are named") {
  test_support::CapturedLog log;
  auto result = map(items(item(R"("1")", R"("payments":["14","377",1,"75"," 14 ","999",""],"paymentTerms":[])")), log);
  REQUIRE(result.offers.size() == 1);
  CHECK(result.offers[0].payment_methods ==
        std::vector<std::string>{"Bank Transfer", "Pago Movil", "Banesco", "Mercantil", "Bybit payment 999"});
  CHECK(bybit_payment_name("42") == "Bybit payment 42");
}

TEST_CASE("bybit: a missing nickName is Unknown; an offer without id or limits is skipped and logged") {
  test_support::CapturedLog log;
  std::string no_name = R"({"id":"2","price":"1","lastQuantity":"1","minAmount":1,"maxAmount":2.5})";
  std::string no_max = R"({"id":"3","price":"1","lastQuantity":"1","minAmount":"1"})";
  auto result = map(items(item("null") + "," + no_name + "," + no_max), log);
  REQUIRE(result.offers.size() == 1);
  CHECK(result.offers[0].advertiser == "Unknown");
  CHECK(result.offers[0].max_limit == "2.5");
  CHECK(result.skipped == 2);
  CHECK(log.text().find("warning bybit offer skipped: id: not a string or an integer (request_id=req-7)") !=
        std::string::npos);
  CHECK(log.text().find("maxAmount: missing (request_id=req-7 external_id=3)") != std::string::npos);
}

TEST_CASE("bybit: ret_code, result and items failures fail the call") {
  test_support::CapturedLog log;
  CHECK_THROWS_WITH_AS(map(R"({"ret_code":10001,"ret_msg":"params error","result":null})", log),
                       "exchange error 10001: params error", UpstreamError);
  CHECK_THROWS_WITH_AS(map("not json", log), doctest::Contains("invalid JSON from exchange: "), UpstreamError);
  CHECK_THROWS_WITH_AS(map(ok("null"), log), "unexpected response from exchange: result is not an object",
                       UpstreamError);
  CHECK_THROWS_WITH_AS(map(ok(R"({"count":3,"items":null})"), log),
                       "unexpected response from exchange: result.items is not an array", UpstreamError);
  CHECK_THROWS_WITH_AS(map(ok(R"({"count":0,"items":{}})"), log),
                       "unexpected response from exchange: result.items is not an array", UpstreamError);
}

TEST_CASE("bybit: null items with count 0 is an empty page") {
  test_support::CapturedLog log;
  CHECK(map(ok(R"({"count":0,"items":null})"), log).offers.empty());
  CHECK(map(ok(R"({"count":0})"), log).offers.empty());
  CHECK(map(ok(R"({"count":0,"items":[]})"), log).offers.empty());
}

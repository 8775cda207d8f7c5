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

// The names bybit_payment_list.json (the replay's catalogue) gives these ids.
const PaymentNames catalogue{{"14", "Bank Transfer"}, {"377", "Pago Movil"}, {"1", "Banesco"}, {"75", "Mercantil"}};

FetchResult map(std::string_view body, test_support::CapturedLog& log, const PaymentNames& names = catalogue) {
  return map_bybit_offers(body, ves_sell, "req-7", log.logger, names);
}

// One item with the given reputation members.
std::string reputed(std::string_view id, std::string_view members) {
  std::string out = R"({"id":)";
  out.append(id).append(R"(,"price":"1","lastQuantity":"1","minAmount":"1","maxAmount":"2")");
  if (!members.empty()) out.append(",").append(members);
  out.append("}");
  return out;
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
  // Terms without a name fall back to their paymentType through the catalogue.
  CHECK(result.offers[0].payment_methods ==
        std::vector<std::string>{"Transferencia", "Pago Movil", "Bybit payment 999"});
  CHECK(result.notes.unnamed_payments == 1);
}

TEST_CASE("bybit: without paymentTerms, payment ids go through the catalogue; unknown ids are named and noted") {
  test_support::CapturedLog log;
  const std::string body = items(item(R"("1")", R"("payments":["14","377",1,"75"," 14 ","999","999",""],"paymentTerms":[])"));
  auto result = map(body, log);
  REQUIRE(result.offers.size() == 1);
  CHECK(result.offers[0].payment_methods ==
        std::vector<std::string>{"Bank Transfer", "Pago Movil", "Banesco", "Mercantil", "Bybit payment 999"});
  CHECK(result.notes.unnamed_payments == 1);  // 999 once: the name is listed once

  // No catalogue (never fetched): every id is named after itself, and noted.
  auto unnamed = map(body, log, PaymentNames{});
  REQUIRE(unnamed.offers.size() == 1);
  CHECK(unnamed.offers[0].payment_methods == std::vector<std::string>{"Bybit payment 14", "Bybit payment 377",
                                                                      "Bybit payment 1", "Bybit payment 75",
                                                                      "Bybit payment 999"});
  CHECK(unnamed.notes.unnamed_payments == 5);
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

TEST_CASE("bybit: reputation from recentOrderNum, recentExecuteRate (a percentage) and the merchant signs") {
  test_support::CapturedLog log;
  auto result = map(items(reputed("1", R"("recentOrderNum":156,"recentExecuteRate":98,"userType":"PERSONAL")") + "," +
                          reputed("2", R"("recentOrderNum":"12","recentExecuteRate":"100","authTag":[],"userType":"PERSONAL")") + "," +
                          reputed("3", R"("recentOrderNum":43,"recentExecuteRate":97.5,"authTag":["VA"])") + "," +
                          reputed("4", R"("recentOrderNum":0,"recentExecuteRate":0,"userType":"ORG")") + "," +
                          reputed("5", R"("recentOrderNum":1,"recentExecuteRate":"7.5","authTag":["GA"],"userType":"PERSONAL")") + "," +
                          reputed("6", R"("recentOrderNum":2,"recentExecuteRate":99.123456789,"authTag":["XX","BA"])") + "," +
                          reputed("7", R"("recentOrderNum":3,"recentExecuteRate":0.5,"authTag":["XX"],"userType":"PERSONAL")")),
                    log);
  REQUIRE(result.offers.size() == 7);
  const auto& o = result.offers;
  CHECK(o[0].advertiser_orders_30d == 156);
  CHECK(o[0].advertiser_completion_rate == "0.98");
  CHECK_FALSE(o[0].merchant);
  CHECK(o[1].advertiser_orders_30d == 12);
  CHECK(o[1].advertiser_completion_rate == "1");
  CHECK_FALSE(o[1].merchant);
  CHECK(o[2].advertiser_completion_rate == "0.975");
  CHECK(o[2].merchant);  // a verified advertiser's badge
  CHECK(o[3].advertiser_orders_30d == 0);
  CHECK(o[3].advertiser_completion_rate == "0");
  CHECK(o[3].merchant);  // an institutional account
  CHECK(o[4].advertiser_completion_rate == "0.075");
  CHECK(o[4].merchant);
  CHECK(o[5].advertiser_completion_rate == "0.99123457");  // /100, then rounded to 8 places
  CHECK(o[5].merchant);
  CHECK(o[6].advertiser_completion_rate == "0.005");  // 0.5 is half a percent, not 50%
  CHECK_FALSE(o[6].merchant);                         // an unknown tag is no badge
  CHECK(result.notes.invalid.empty());
}

TEST_CASE("bybit: unusable reputation is unknown and noted; a skipped item's is not") {
  test_support::CapturedLog log;
  auto result = map(items(reputed("1", "") + "," +
                          reputed("2", R"("recentOrderNum":null,"recentExecuteRate":null,"authTag":null,"userType":null)") + "," +
                          reputed("3", R"("recentOrderNum":-1,"recentExecuteRate":150,"authTag":"GA","userType":"PERSONAL")") + "," +
                          reputed("4", R"("recentOrderNum":"many","recentExecuteRate":"n/a","userType":"VIP")") + "," +
                          reputed("5", R"("recentOrderNum":{},"recentExecuteRate":-2,"authTag":[1],"userType":"ORG")") + "," +
                          reputed("6", R"("recentOrderNum":[],"recentExecuteRate":"100.5","userType":1)") + "," +
                          R"({"id":"7","price":null,"recentExecuteRate":"n/a"})"),
                    log);
  REQUIRE(result.offers.size() == 6);
  CHECK(result.skipped == 1);
  for (const Offer& o : result.offers) {
    INFO("offer ", o.external_id);
    CHECK_FALSE(o.advertiser_orders_30d);
    CHECK_FALSE(o.advertiser_completion_rate);
    CHECK(o.merchant == (o.external_id == "5"));  // "ORG" wins over a malformed tag list
  }
  const std::string orders = "advertiser_orders_30d:", rate = "advertiser_completion_rate:", merchant = "merchant:";
  CHECK(test_support::invalid_fields(result) ==
        std::vector<std::string>{orders + "missing",      rate + "missing",      merchant + "missing",
                                 orders + "missing",      rate + "missing",      merchant + "missing",
                                 orders + "out_of_range", rate + "out_of_range", merchant + "malformed",
                                 orders + "malformed",    rate + "malformed",    merchant + "malformed",
                                 orders + "malformed",    rate + "out_of_range",
                                 orders + "malformed",    rate + "out_of_range", merchant + "malformed"});
}

TEST_CASE("bybit: the payment catalogue maps ids to trimmed names; unusable entries are ignored") {
  const std::string body = ok(R"({"paymentConfigVo":[)"
                              R"({"paymentType":"14","paymentName":"Bank Transfer","checkType":0,"items":[]},)"
                              R"({"paymentType":377,"paymentName":" Pago Movil "},)"
                              R"({"paymentType":" 75 ","paymentName":"Mercantil"},)"
                              R"({"paymentType":"14","paymentName":"Second Name"},)"
                              R"({"paymentType":"585","paymentName":""},{"paymentType":null,"paymentName":"Sin Id"},)"
                              R"({"paymentType":"9","paymentName":null},"junk",{"paymentType":1.5,"paymentName":"X"}],)"
                              R"("currencyPaymentIdMap":"{\"VES\":[14,377]}"})");
  CHECK(map_bybit_payment_names(body) ==
        PaymentNames{{"14", "Bank Transfer"}, {"377", "Pago Movil"}, {"75", "Mercantil"}});
}

TEST_CASE("bybit: a catalogue that is an error, the wrong shape or empty fails the fetch") {
  CHECK_THROWS_WITH_AS(map_bybit_payment_names(R"({"ret_code":10001,"ret_msg":"params error","result":null})"),
                       "exchange error 10001: params error", UpstreamError);
  CHECK_THROWS_WITH_AS(map_bybit_payment_names("<html>"), doctest::Contains("invalid JSON from exchange"), UpstreamError);
  CHECK_THROWS_WITH_AS(map_bybit_payment_names(ok("null")), "unexpected response from exchange: result is not an object",
                       UpstreamError);
  CHECK_THROWS_WITH_AS(map_bybit_payment_names(ok(R"({"paymentConfigVo":{}})")),
                       "unexpected response from exchange: result.paymentConfigVo is not an array", UpstreamError);
  CHECK_THROWS_WITH_AS(map_bybit_payment_names(ok(R"({"paymentConfigVo":[{"paymentType":"14","paymentName":" "}]})")),
                       "unexpected response from exchange: result.paymentConfigVo names no payment method",
                       UpstreamError);
}

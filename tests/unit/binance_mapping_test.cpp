#include <doctest/doctest.h>

#include <algorithm>

#include "app/exchanges/exchange_mapping.hpp"
#include "tests/support/captured_log.hpp"
#include "tests/support/offer_check.hpp"

using namespace p2p;

namespace {

const Market ves_buy{"VES", "USDT", "BUY", 1, 20};

// A success envelope around `data`.
std::string ok(std::string_view data) {
  std::string body = R"({"code":"000000","message":null,"messageDetail":null,"data":)";
  body.append(data).append(R"(,"total":1,"success":true})");
  return body;
}

// One search item; `adv_extra` and `item_extra` are appended inside adv and item.
std::string item(std::string_view adv_no, std::string_view price, std::string_view adv_extra = "",
                 std::string_view item_extra = R"(,"advertiser":{"nickName":"Ana"})") {
  std::string out = R"({"adv":{"advNo":)";
  out.append(adv_no).append(R"(,"tradeType":"SELL","asset":"USDT","fiatUnit":"VES","price":)").append(price);
  out.append(R"(,"surplusAmount":"100","minSingleTransAmount":"500","maxSingleTransAmount":"1,000.00")");
  out.append(adv_extra).append("}").append(item_extra).append("}");
  return out;
}

// "[a,b,...]"
std::string list(std::initializer_list<std::string> elements) {
  std::string out = "[";
  for (const std::string& e : elements) out.append(out.size() > 1 ? "," : "").append(e);
  out.append("]");
  return out;
}

FetchResult map(std::string_view body, test_support::CapturedLog& log) {
  return map_binance_offers(body, ves_buy, "req-42", log.logger);
}

}  // namespace

TEST_CASE("binance: the search body asks for the requested market") {
  CHECK(binance_search_body(Market{"ARS", "BTC", "SELL", 3, 10}) ==
        R"({"fiat":"ARS","asset":"BTC","tradeType":"SELL","page":3,"rows":10,"payTypes":[],)"
        R"("publisherType":null,"countries":[],"proMerchantAds":false})");
}

TEST_CASE("binance: an offer maps with the requested market, canonical numbers and its advertiser") {
  test_support::CapturedLog log;
  std::string tail = R"(,"tradeMethods":[{"identifier":"BANK","tradeMethodName":" Bank Transfer "}])";
  auto result = map(ok(list({item(R"("11530432151342977024")", R"("36.50")", tail)})), log);
  // The requested side (BUY), not the advertiser's (SELL).
  test_support::check_only_offer(
      result, Offer{.exchange = "binance", .external_id = "11530432151342977024", .fiat = "VES", .asset = "USDT",
                    .trade_type = "BUY", .price = "36.5", .available = "100", .min_limit = "500", .max_limit = "1000",
                    .payment_methods = {"Bank Transfer"}, .advertiser = "Ana"});
  CHECK(log.text().empty());
}

TEST_CASE("binance: ids and numbers may be JSON numbers; large ints and doubles are exact") {
  test_support::CapturedLog log;
  std::string adv = R"({"adv":{"advNo":11530432151342977024,"price":36.5,"surplusAmount":1234,)"
                    R"("minSingleTransAmount":0.123456785,"maxSingleTransAmount":999999999999}})";
  auto result = map(ok(list({adv})), log);
  REQUIRE(result.offers.size() == 1);
  const Offer& o = result.offers[0];
  CHECK(o.external_id == "11530432151342977024");  // uint64, not a lossy double
  CHECK(o.price == "36.5");
  CHECK(o.available == "1234");
  CHECK(o.min_limit == "0.12345679");  // rounded to 8 places
  CHECK(o.max_limit == "999999999999");
  CHECK(o.payment_methods.empty());  // no tradeMethods
  CHECK(o.advertiser == "Unknown");  // no advertiser
}

TEST_CASE("binance: payment methods are trimmed, deduplicated in order, fall back to the identifier") {
  test_support::CapturedLog log;
  std::string methods = R"(,"tradeMethods":[{"identifier":"PagoMovil","tradeMethodName":"Pago Movil"},)"
                        R"({"identifier":"Banesco","tradeMethodName":null},{"identifier":"X","tradeMethodName":"  "},)"
                        R"({"identifier":"","tradeMethodName":""},{"tradeMethodName":"Pago Movil "},"junk",)"
                        R"({"identifier":"Banesco"},{"identifier":"Mercantil","tradeMethodName":"Mercantil"}])";
  auto result = map(ok(list({item(R"("1")", R"("1")", methods), item(R"("2")", R"("1")", R"(,"tradeMethods":[])")})),
                    log);
  REQUIRE(result.offers.size() == 2);
  CHECK(result.offers[0].payment_methods == std::vector<std::string>{"Pago Movil", "Banesco", "X", "Mercantil"});
  CHECK(result.offers[1].payment_methods.empty());
}

TEST_CASE("binance: advertiser names are kept verbatim (unicode, HTML), trimmed, else Unknown") {
  test_support::CapturedLog log;
  auto named = [](std::string_view id, std::string_view advertiser) { return item(id, "\"1\"", "", advertiser); };
  auto result = map(ok(list({named("1", R"(,"advertiser":{"nickName":"  José 🚀 Ñandú\u00e9 "})"),
                             named("2", R"(,"advertiser":{"nickName":"<b>Tom & \"Jerry\"</b>"})"),
                             named("3", R"(,"advertiser":{"nickName":null})"),
                             named("4", R"(,"advertiser":{"nickName":"   "})"), named("5", R"(,"advertiser":null)"),
                             named("6", "")})),
                    log);
  REQUIRE(result.offers.size() == 6);
  CHECK(result.offers[0].advertiser == "José 🚀 Ñandú\xC3\xA9");
  CHECK(result.offers[1].advertiser == "<b>Tom & \"Jerry\"</b>");
  for (std::size_t i = 2; i < 6; ++i) CHECK(result.offers[i].advertiser == "Unknown");
}

TEST_CASE("binance: an offer that cannot be mapped is skipped, counted and logged; the others are returned") {
  test_support::CapturedLog log;
  std::string data = list({item(R"("1")", R"("36.5")"), item(R"("bad-price")", R"("abc")"), R"({"adv":"nope"})", "42",
                            R"({"adv":{"price":"1"}})", item(R"("huge")", R"("1234567890123")"), item("null", R"("1")"),
                            item(R"("2")", R"("-1")"), item(R"("3")", R"("1,23.4")"), item(R"("4")", "null"),
                            item(R"("5")", "1")});
  auto result = map(ok(data), log);
  REQUIRE(result.offers.size() == 2);
  CHECK(result.offers[0].external_id == "1");
  CHECK(result.offers[1].external_id == "5");
  CHECK(result.skipped == 9);
  std::string text = log.text();
  CHECK(text.find(R"(warning binance offer skipped: price: not a decimal: "abc" (request_id=req-42 external_id=bad-price))") !=
        std::string::npos);
  CHECK(text.find("adv: not an object (request_id=req-42)") != std::string::npos);
  CHECK(text.find("offer: not an object (request_id=req-42)") != std::string::npos);
  CHECK(text.find("advNo: missing (request_id=req-42)") != std::string::npos);
  CHECK(text.find("price: more than 12 integer digits (request_id=req-42 external_id=huge)") != std::string::npos);
  CHECK(text.find("advNo: not a string or an integer") != std::string::npos);
  CHECK(text.find("price: negative") != std::string::npos);
  CHECK(text.find(R"(price: not a decimal: "1,23.4")") != std::string::npos);
  CHECK(text.find("price: null (request_id=req-42 external_id=4)") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 9);  // one line a skipped offer
}

TEST_CASE("binance: body-level failures fail the call with UpstreamError") {
  test_support::CapturedLog log;
  auto invalid_json = doctest::Contains("invalid JSON from exchange: ");
  CHECK_THROWS_WITH_AS(map("<html>502 Bad Gateway</html>", log), invalid_json, UpstreamError);
  CHECK_THROWS_WITH_AS(map("", log), invalid_json, UpstreamError);
  CHECK_THROWS_WITH_AS(map(R"({"code":"000002","message":"illegal parameter","data":null,"success":false})", log),
                       "exchange error 000002: illegal parameter", UpstreamError);
  CHECK_THROWS_WITH_AS(map(R"({"code":"000000","message":null,"data":[],"success":false})", log),
                       "exchange error 000000: (no message)", UpstreamError);
  CHECK_THROWS_WITH_AS(map(R"({"message":"gone"})", log), "exchange error (none): gone", UpstreamError);
  CHECK_THROWS_WITH_AS(map(ok("null"), log), "unexpected response from exchange: data is not an array", UpstreamError);
  CHECK_THROWS_WITH_AS(map(ok(R"({"adv":{}})"), log), "unexpected response from exchange: data is not an array",
                       UpstreamError);
  CHECK_THROWS_WITH_AS(map("[]", log), "unexpected response from exchange: the body is not a JSON object",
                       UpstreamError);
  bool timed_out = true;
  try {
    map("{", log);
  } catch (const UpstreamError& e) {
    timed_out = e.timed_out();
  }
  CHECK_FALSE(timed_out);  // 502, not 504
}

TEST_CASE("binance: an empty page is no error") {
  test_support::CapturedLog log;
  auto result = map(ok("[]"), log);
  CHECK(result.offers.empty());
  CHECK(result.skipped == 0);
}

TEST_CASE("binance: pairs are the P2P assets times the fiats, sorted and unique") {
  std::string config = ok(R"({"areas":[{"area":"MARKET","tradeSides":[{"assets":[{"asset":"ETH"}]}]},)"
                          R"({"area":"P2P","tradeSides":[{"side":"BUY","assets":[{"asset":"USDT"},{"asset":"BTC"}]},)"
                          R"({"side":"SELL","assets":[{"asset":" USDT "},{"asset":null},{"asset":"FDUSD"}]}]}]})");
  std::string fiats = ok(R"([{"currencyCode":"VES"},{"currencyCode":"ARS"},{"currencyCode":"VES"},{"name":"x"}])");
  std::vector<Pair> expected{{"BTC", "ARS"},   {"BTC", "VES"},  {"FDUSD", "ARS"},
                             {"FDUSD", "VES"}, {"USDT", "ARS"}, {"USDT", "VES"}};
  CHECK(map_binance_pairs(config, fiats) == expected);
}

TEST_CASE("binance: pairs fail when either response is an error or has no P2P area") {
  std::string config = ok(R"({"areas":[{"area":"P2P","tradeSides":[{"assets":[{"asset":"USDT"}]}]}]})");
  std::string fiats = ok(R"([{"currencyCode":"VES"}])");
  CHECK_THROWS_WITH_AS(map_binance_pairs(ok(R"({"areas":[]})"), fiats),
                       "unexpected response from exchange: no P2P area in data.areas", UpstreamError);
  CHECK_THROWS_WITH_AS(map_binance_pairs(ok("null"), fiats), "unexpected response from exchange: data is not an object",
                       UpstreamError);
  CHECK_THROWS_WITH_AS(map_binance_pairs(config, R"({"code":"100001","message":"busy","success":false})"),
                       "exchange error 100001: busy", UpstreamError);
  CHECK_THROWS_WITH_AS(map_binance_pairs(config, ok("{}")), "unexpected response from exchange: data is not an array",
                       UpstreamError);
  CHECK_THROWS_AS(map_binance_pairs("{", fiats), UpstreamError);
}

TEST_CASE("binance: reputation comes from advertiser.monthOrderCount, monthFinishRate and userType") {
  test_support::CapturedLog log;
  auto advertiser = [](std::string_view id, std::string_view members) {
    return item(id, "\"1\"", "", std::string(R"(,"advertiser":{"nickName":"Ana",)").append(members).append("}"));
  };
  auto result = map(ok(list({advertiser("1", R"("monthOrderCount":412,"monthFinishRate":0.981,"userType":"merchant")"),
                             advertiser("2", R"("monthOrderCount":"88","monthFinishRate":"0.97","userType":"user")"),
                             advertiser("3", R"("monthOrderCount":0,"monthFinishRate":1,"userType":"MERCHANT")"),
                             advertiser("4", R"("monthOrderCount":2147483647,"monthFinishRate":0,"userType":"User")"),
                             advertiser("5", R"("monthOrderCount":57.0,"monthFinishRate":0.123456789)")})),
                    log);
  REQUIRE(result.offers.size() == 5);
  const auto& o = result.offers;
  CHECK(o[0].advertiser_orders_30d == 412);
  CHECK(o[0].advertiser_completion_rate == "0.981");
  CHECK(o[0].merchant);
  CHECK(o[1].advertiser_orders_30d == 88);  // digit strings are numbers too
  CHECK(o[1].advertiser_completion_rate == "0.97");
  CHECK_FALSE(o[1].merchant);
  CHECK(o[2].advertiser_orders_30d == 0);
  CHECK(o[2].advertiser_completion_rate == "1");
  CHECK(o[2].merchant);  // any case
  CHECK(o[3].advertiser_orders_30d == 2147483647);
  CHECK(o[3].advertiser_completion_rate == "0");
  CHECK_FALSE(o[3].merchant);
  CHECK(o[4].advertiser_orders_30d == 57);             // an integral double
  CHECK(o[4].advertiser_completion_rate == "0.12345679");  // rounded to 8 places like every decimal
  CHECK_FALSE(o[4].merchant);
  CHECK(test_support::invalid_fields(result) == std::vector<std::string>{"merchant:missing"});
}

TEST_CASE("binance: absent, null, malformed and out-of-range reputation is unknown and noted, never a skip") {
  test_support::CapturedLog log;
  auto advertiser = [](std::string_view id, std::string_view value) {
    return item(id, "\"1\"", "", std::string(",\"advertiser\":").append(value));
  };
  auto result = map(
      ok(list({advertiser("1", "null"), advertiser("2", R"({"nickName":"Ana"})"),
               advertiser("3", R"({"monthOrderCount":null,"monthFinishRate":null,"userType":null})"),
               advertiser("4", R"({"monthOrderCount":"lots","monthFinishRate":"abc","userType":7})"),
               advertiser("5", R"({"monthOrderCount":12.5,"monthFinishRate":true,"userType":"vip"})"),
               advertiser("6", R"({"monthOrderCount":-3,"monthFinishRate":1.5,"userType":["merchant"]})"),
               advertiser("7", R"({"monthOrderCount":2147483648,"monthFinishRate":-0.1})"),
               advertiser("8", R"({"monthOrderCount":"-4","monthFinishRate":"98"})"),
               advertiser("9", R"({"monthOrderCount":18446744073709551615,"monthFinishRate":"1.00000001"})")})),
      log);
  REQUIRE(result.offers.size() == 9);
  CHECK(result.skipped == 0);
  for (const Offer& o : result.offers) {
    INFO("offer ", o.external_id);
    CHECK_FALSE(o.advertiser_orders_30d);
    CHECK_FALSE(o.advertiser_completion_rate);
    CHECK_FALSE(o.merchant);
  }
  const std::string orders = "advertiser_orders_30d:", rate = "advertiser_completion_rate:", merchant = "merchant:";
  CHECK(test_support::invalid_fields(result) ==
        std::vector<std::string>{
            orders + "missing",      rate + "missing",      merchant + "missing",         // advertiser null
            orders + "missing",      rate + "missing",      merchant + "missing",         // no members
            orders + "missing",      rate + "missing",      merchant + "missing",         // null members
            orders + "malformed",    rate + "malformed",    merchant + "malformed",       // wrong kinds
            orders + "malformed",    rate + "malformed",    merchant + "malformed",       // 12.5, true, "vip"
            orders + "out_of_range", rate + "out_of_range", merchant + "malformed",       // -3, 1.5, a list
            orders + "out_of_range", rate + "out_of_range", merchant + "missing",         // 2^31, -0.1
            orders + "out_of_range", rate + "out_of_range", merchant + "missing",         // "-4", 98 (not a fraction)
            orders + "out_of_range", rate + "out_of_range", merchant + "missing"});       // 2^64-1, above 1
  CHECK(log.text().empty());  // reported through the notes (and debug lines), not warnings
}

TEST_CASE("binance: a skipped offer's reputation is not noted") {
  test_support::CapturedLog log;
  auto result = map(ok(list({item(R"("1")", R"("abc")", "", R"(,"advertiser":{"monthOrderCount":"lots"})")})), log);
  CHECK(result.offers.empty());
  CHECK(result.skipped == 1);
  CHECK(result.notes.invalid.empty());
}

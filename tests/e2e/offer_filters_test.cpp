// e2e: who is behind an offer. The advertiser's reputation as both exchanges
// report it (fixtures: scripts/replay-exchange documents every value), stored
// and served on every offer answer; the reputation and payment-method
// filters of the fetch routes, the history and the stats, each checked
// against what libpqxx reads from the database itself.

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;

namespace {

// An offer's reputation as served ("null" for unknown), and as stored.
struct Reputation {
  std::string orders;  // "412" | "null"
  std::string rate;    // "0.981" | "null"
  bool merchant;
};

const std::map<std::string, Reputation> binance_expected{
    {"11580000000000000001", {"412", "0.981", true}}, {"11580000000000000002", {"1893", "0.995", true}},
    {"11580000000000000003", {"57", "0.9", false}},    {"11580000000000000004", {"null", "null", false}},
    {"11580000000000000006", {"12", "0.92", false}},   {"11580000000000000007", {"88", "0.97", false}},
    {"11580000000000000008", {"240", "null", true}},   {"11580000000000000009", {"null", "null", false}}};
const std::map<std::string, Reputation> bybit_expected{
    {"1860000000000000001", {"156", "0.98", false}},  {"1860000000000000002", {"null", "null", false}},
    {"1860000000000000003", {"43", "0.975", true}},   {"1860000000000000005", {"12", "1", false}},
    {"1860000000000000006", {"2875", "0.99", true}},  {"1860000000000000007", {"null", "null", false}}};

// A served number equals the decimal `expected` ("null": the value is null).
bool same_number(const Json& value, const std::string& expected) {
  if (expected == "null") return value.type == Json::Type::null;
  return value.type == Json::Type::number && value.number == std::stod(expected);
}

void check_reputation(const Json& offer, const Reputation& expected) {
  INFO("offer ", offer["external_id"].text);
  const Json& orders = offer["advertiser_orders_30d"];
  CHECK(same_number(orders, expected.orders));
  CHECK((orders.type == Json::Type::null || orders.is_integer()));
  CHECK(same_number(offer["advertiser_completion_rate"], expected.rate));
  CHECK(offer["merchant"].type == Json::Type::boolean);
  CHECK(offer["merchant"].boolean == expected.merchant);
}

// The row as stored, read through libpqxx, in the same spelling.
Reputation stored_reputation(ApiFixture& api, const std::string& id) {
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);
  auto row = tx.exec_params1(
      "SELECT coalesce(advertiser_orders_30d::text, 'null'), coalesce(trim_scale(advertiser_completion_rate)::text,"
      " 'null'), merchant FROM offers WHERE id = $1",
      id);
  return {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<bool>()};
}

void check_all(ApiFixture& api, const Json& offers, const std::map<std::string, Reputation>& expected) {
  REQUIRE(offers.items.size() == expected.size());
  for (const auto& o : offers.items) {
    const auto it = expected.find(o["external_id"].text);
    REQUIRE(it != expected.end());
    check_reputation(o, it->second);
    const Reputation stored = stored_reputation(api, o["id"].text);
    CHECK(stored.orders == it->second.orders);
    CHECK(stored.rate == it->second.rate);
    CHECK(stored.merchant == it->second.merchant);
  }
}

std::string invalid_series(const std::string& exchange, const std::string& field, const std::string& reason) {
  return "exchange_offer_fields_invalid_total{exchange=\"" + exchange + "\",field=\"" + field + "\",reason=\"" +
         reason + "\"}";
}

std::set<std::string> external_ids(const Json& offers) {
  std::set<std::string> out;
  for (const auto& o : offers.items) out.insert(o["external_id"].text);
  return out;
}

std::set<std::string> ids(const Json& offers) {
  std::set<std::string> out;
  for (const auto& o : offers.items) out.insert(o["id"].text);
  return out;
}

std::set<std::string> ids_where(ApiFixture& api, const std::string& where) {
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);
  std::set<std::string> out;
  for (const auto& row : tx.exec("SELECT id::text FROM offers o WHERE " + where)) out.insert(row[0].as<std::string>());
  return out;
}

// The set of error locations of a 422 list: {"min_orders", ...}.
std::map<std::string, std::string> error_types(const Json& body) {
  std::map<std::string, std::string> out;
  for (const auto& e : body["detail"].items) out[e["loc"].items.at(1).text] = e["type"].text;
  return out;
}

}  // namespace

TEST_CASE("reputation: exact values from both exchanges, as stored; unusable ones are null and counted") {
  ReplayExchange replay;
  ApiFixture api(replay);
  const auto raw = api.get(binance_sell);
  // The stored digits, as JSON numbers, after the advertiser's name.
  CHECK(contains(raw.body, R"("advertiser":"CryptoVE","advertiser_orders_30d":412,"advertiser_completion_rate":0.981,)"
                           R"("merchant":true})"));
  CHECK(contains(raw.body, R"("advertiser":"Unknown","advertiser_orders_30d":null,"advertiser_completion_rate":null,)"
                           R"("merchant":false})"));
  check_all(api, parse_json(raw.body), binance_expected);
  check_all(api, api.get_json(bybit_buy), bybit_expected);

  // Every other offer answer carries them too.
  const auto page = api.get_json("/api/v1/offers?exchange=binance&limit=500");
  check_all(api, page["items"], binance_expected);
  const auto first = page["items"].items.at(0);
  check_reputation(api.get_json("/api/v1/offers/" + first["id"].text),
                   binance_expected.at(first["external_id"].text));

  // One fetch each: the fixtures' unusable values, counted once; a skipped
  // offer's (Binance #5 "lots", Bybit #4 "n/a") never.
  auto metrics = api.metrics();
  const std::string orders = "advertiser_orders_30d", rate = "advertiser_completion_rate", merchant = "merchant";
  CHECK(metric_sample(metrics, invalid_series("binance", orders, "missing")) == 1);       // #4
  CHECK(metric_sample(metrics, invalid_series("binance", orders, "out_of_range")) == 1);  // #9: -3
  CHECK(metric_sample(metrics, invalid_series("binance", orders, "malformed")) == -1);    // absent
  CHECK(metric_sample(metrics, invalid_series("binance", rate, "missing")) == 2);         // #4, #9 null
  CHECK(metric_sample(metrics, invalid_series("binance", rate, "out_of_range")) == 1);    // #8: 1.5
  CHECK(metric_sample(metrics, invalid_series("binance", merchant, "missing")) == 1);     // #4
  CHECK(metric_sample(metrics, invalid_series("binance", merchant, "malformed")) == 1);   // #9: 7
  CHECK(metric_sample(metrics, invalid_series("bybit", orders, "missing")) == 1);         // #2
  CHECK(metric_sample(metrics, invalid_series("bybit", orders, "out_of_range")) == 1);    // #7: -1
  CHECK(metric_sample(metrics, invalid_series("bybit", rate, "missing")) == 1);           // #2
  CHECK(metric_sample(metrics, invalid_series("bybit", rate, "out_of_range")) == 1);      // #7: 150
  CHECK(metric_sample(metrics, invalid_series("bybit", rate, "malformed")) == -1);        // absent
  CHECK(metric_sample(metrics, invalid_series("bybit", merchant, "malformed")) == 1);     // #7: "GA"

  // Counted per fetch: another fetch of each adds the same again.
  api.get_json(binance_sell);
  metrics = api.metrics();
  CHECK(metric_sample(metrics, invalid_series("binance", rate, "missing")) == 4);
  CHECK(metric_sample(metrics, invalid_series("bybit", merchant, "malformed")) == 1);
}

TEST_CASE("fetch routes: the reputation filters choose what is returned; every fetched offer is stored") {
  ReplayExchange replay;
  ApiFixture api(replay);
  struct Case {
    std::string target;
    std::set<std::string> expected;
  };
  const std::string b = "1158000000000000000", y = "186000000000000000";
  const std::vector<Case> cases{
      {binance_sell + "&merchant_only=true", {b + "1", b + "2", b + "8"}},
      {binance_sell + "&min_completion_rate=0.95", {b + "1", b + "2", b + "7"}},
      {binance_sell + "&min_orders=100", {b + "1", b + "2", b + "8"}},
      {binance_sell + "&merchant_only=true&min_completion_rate=0.99&min_orders=1000", {b + "2"}},
      {binance_sell + "&merchant_only=false&min_completion_rate=0&min_orders=0",
       {b + "1", b + "2", b + "3", b + "6", b + "7"}},  // a minimum excludes unknown values
      {binance_sell + "&merchant_only=&min_orders=&min_completion_rate=",
       {b + "1", b + "2", b + "3", b + "4", b + "6", b + "7", b + "8", b + "9"}},  // empty: any
      {bybit_buy + "&min_completion_rate=0.98", {y + "1", y + "5", y + "6"}},
      {bybit_buy + "&merchant_only=1", {y + "3", y + "6"}},
      {bybit_buy + "&min_orders=50&min_completion_rate=0.99", {y + "6"}},
      {bybit_buy + "&min_orders=100000", {}},
  };
  long long fetched = 0;
  for (const auto& c : cases) {
    INFO(c.target);
    const auto offers = api.get_json(c.target);
    CHECK(external_ids(offers) == c.expected);
    fetched += c.target.rfind("/api/v1/binance/", 0) == 0 ? binance_valid : bybit_valid;
    // What was returned is what was stored, row for row.
    for (const auto& o : offers.items) {
      CHECK(same_number(o["advertiser_completion_rate"], stored_reputation(api, o["id"].text).rate));
    }
  }
  // Stored: every offer of every fetch, filtered out or not.
  CHECK(api.count("SELECT count(*) FROM offers") == fetched);
}

TEST_CASE("bad filter values: 422 naming each, and nothing is fetched or stored") {
  ReplayExchange replay;
  ApiFixture api(replay);
  const auto body =
      api.get_json(binance_sell + "&min_completion_rate=1.5&min_orders=-1&merchant_only=maybe", 422);
  CHECK(error_types(body) == std::map<std::string, std::string>{{"min_completion_rate", "less_than_equal"},
                                                                {"min_orders", "greater_than_equal"},
                                                                {"merchant_only", "bool_parsing"}});
  for (const auto& e : body["detail"].items) {
    INFO(e["loc"].items.at(1).text);
    CHECK(e["loc"].items.at(0).text == "query");
    CHECK_FALSE(e["msg"].text.empty());
  }
  CHECK(body["detail"].items.at(0)["input"].text == "1.5");
  api.get_json(bybit_buy + "&min_orders=abc", 422);

  struct Case {
    std::string query;
    std::string field;
    std::string type;
  };
  for (const auto& c : std::vector<Case>{{"min_completion_rate=abc", "min_completion_rate", "float_parsing"},
                                         {"min_completion_rate=1e-1", "min_completion_rate", "float_parsing"},
                                         {"min_completion_rate=-0.1", "min_completion_rate", "greater_than_equal"},
                                         {"min_completion_rate=0.123456789", "min_completion_rate",
                                          "decimal_max_places"},
                                         {"min_completion_rate=1.00000001", "min_completion_rate", "less_than_equal"},
                                         {"min_orders=1.5", "min_orders", "int_parsing"},
                                         {"min_orders=2147483648", "min_orders", "less_than_equal"},
                                         {"merchant_only=maybe", "merchant_only", "bool_parsing"},
                                         {"payment_method=" + std::string(201, 'x'), "payment_method",
                                          "string_too_long"}}) {
    for (const std::string route : {"/api/v1/offers?", "/api/v1/stats?"}) {
      INFO(route, c.query);
      CHECK(error_types(api.get_json(route + c.query, 422)) == std::map<std::string, std::string>{{c.field, c.type}});
    }
  }
  CHECK(calls_but_catalogue(replay) == 0);
  CHECK(api.count("SELECT count(*) FROM offers") == 0);
}

TEST_CASE("history: each filter alone and combined returns exactly the rows SQL selects") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);
  api.get_json(bybit_buy);
  api.get_json("/api/v1/binance/offers?fiat=ARS&asset=USDT&tradeType=BUY");
  const auto all = ids_where(api, "true");
  REQUIRE(all.size() == 2 * binance_valid + bybit_valid);

  const std::string pays = "EXISTS (SELECT 1 FROM offer_payment_methods opm JOIN payment_methods pm"
                           " ON pm.id = opm.payment_method_id WHERE opm.offer_id = o.id AND pm.name = ";
  struct Case {
    std::string query;
    std::string where;
  };
  for (const auto& c : std::vector<Case>{
           {"merchant_only=true", "merchant"},
           {"min_completion_rate=0.97", "advertiser_completion_rate >= 0.97"},
           {"min_orders=100", "advertiser_orders_30d >= 100"},
           {"payment_method=Pago%20Movil", pays + "'Pago Movil')"},
           {"payment_method=Bybit%20payment%20999", pays + "'Bybit payment 999')"},
           {"exchange=binance&merchant_only=true&min_completion_rate=0.99", "exchange = 'binance' AND merchant AND"
                                                                            " advertiser_completion_rate >= 0.99"},
           {"payment_method=Bank%20Transfer&min_orders=200", pays + "'Bank Transfer') AND advertiser_orders_30d >= 200"},
           {"fiat=ARS&payment_method=Pago%20Movil&merchant_only=yes",
            "fiat = 'ARS' AND merchant AND " + pays + "'Pago Movil')"},
           {"trade_type=BUY&min_completion_rate=0.98&min_orders=150", "trade_type = 'BUY' AND"
                                                                      " advertiser_completion_rate >= 0.98 AND"
                                                                      " advertiser_orders_30d >= 150"}}) {
    INFO(c.query);
    const auto expected = ids_where(api, c.where);
    // A filter that did nothing, or everything, would pass unnoticed.
    CHECK_FALSE(expected.empty());
    CHECK(expected.size() < all.size());
    CHECK(ids(api.get_json("/api/v1/offers?limit=500&" + c.query)["items"]) == expected);
  }
  CHECK(api.get_json("/api/v1/offers?payment_method=Nope")["items"].items.empty());

  // Filtered pages cover the filtered rows once, newest first.
  std::set<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 50; ++page) {
    const auto body =
        api.get_json("/api/v1/offers?merchant_only=true&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& o : body["items"].items) CHECK(paged.insert(o["id"].text).second);
    if (body["next_cursor"].type == Json::Type::null) break;
    cursor = body["next_cursor"].text;
  }
  CHECK(paged == ids_where(api, "merchant"));
}

TEST_CASE("stats by reputation: the best price among merchants with 95% completion is one call, as SQL computes it") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);
  api.get_json(bybit_buy);

  struct Case {
    std::string query;
    std::string where;
    std::string best;  // SQL aggregate of the best price (BUY: lowest, SELL: highest)
  };
  const std::vector<Case> cases{
      {"exchange=binance&trade_type=SELL&merchant_only=true&min_completion_rate=0.95",
       "exchange = 'binance' AND trade_type = 'SELL' AND merchant AND advertiser_completion_rate >= 0.95", "max"},
      {"exchange=bybit&trade_type=BUY&min_orders=50", "exchange = 'bybit' AND trade_type = 'BUY' AND"
                                                      " advertiser_orders_30d >= 50", "min"},
      {"trade_type=SELL&payment_method=Pago%20Movil&min_completion_rate=0.9",
       "trade_type = 'SELL' AND advertiser_completion_rate >= 0.9 AND EXISTS (SELECT 1 FROM offer_payment_methods"
       " opm JOIN payment_methods pm ON pm.id = opm.payment_method_id WHERE opm.offer_id = o.id AND"
       " pm.name = 'Pago Movil')", "max"},
  };
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);
  for (const auto& k : cases) {
    INFO(k.query);
    const auto s = api.get_json("/api/v1/stats?window=1h&" + k.query);
    auto row = tx.exec1("SELECT count(*), trim_scale(" + k.best + "(price))::text, trim_scale(min(price))::text,"
                        " trim_scale(max(price))::text, trim_scale(round(percentile_cont(0.5) WITHIN GROUP"
                        " (ORDER BY price)::numeric, 8))::text, trim_scale(max(price) - min(price))::text"
                        " FROM offers o WHERE " + k.where);
    const auto count = row[0].as<long long>();
    CHECK(count > 0);
    CHECK(count < (k.query.find("bybit") != std::string::npos ? bybit_valid : binance_valid));  // it filtered
    CHECK(s["count"].integer() == count);
    CHECK(same_number(s["best_price"], row[1].as<std::string>()));
    CHECK(same_number(s["min_price"], row[2].as<std::string>()));
    CHECK(same_number(s["max_price"], row[3].as<std::string>()));
    CHECK(same_number(s["median_price"], row[4].as<std::string>()));
    CHECK(same_number(s["spread"], row[5].as<std::string>()));
  }

  // The filters are echoed; one that nothing passes gives a count of 0 and no prices.
  const auto none = api.get_json("/api/v1/stats?min_orders=100000&merchant_only=true&min_completion_rate=0.950");
  CHECK(none["count"].integer() == 0);
  CHECK(none["best_price"].type == Json::Type::null);
  CHECK(none["min_price"].type == Json::Type::null);
  CHECK(none["min_orders"].integer() == 100000);
  CHECK(none["merchant_only"].boolean);
  CHECK(same_number(none["min_completion_rate"], "0.95"));
  CHECK(none["payment_method"].type == Json::Type::null);
  const auto plain = api.get_json("/api/v1/stats");
  CHECK(plain["count"].integer() == binance_valid + bybit_valid);
  CHECK(plain["min_orders"].type == Json::Type::null);
  CHECK_FALSE(plain["merchant_only"].boolean);
}

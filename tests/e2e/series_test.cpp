// e2e: the dashboard's data. /api/v1/series, /api/v1/snapshot and
// /api/v1/markets of the real binary over offers seeded through libpqxx,
// each value checked against SQL written independently of the service's
// (NOT EXISTS instead of DISTINCT ON, percentile_cont instead of the exact
// two-middle mean; prices have two places, so both are exact).

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;

namespace {

const std::string market_a = "exchange = 'binance' AND fiat = 'VES' AND asset = 'USDT' AND trade_type = 'SELL'";
const std::string market_b = "exchange = 'bybit' AND fiat = 'VES' AND asset = 'USDT' AND trade_type = 'BUY'";

// Fetches k = 0..40 every 150 s back from now (k 20-26 missing: a gap of
// empty buckets) plus one at k = 60, outside a 2 h window. Each fetch holds
// advertisements e = 1..6 but the ones with (k + e) % 5 == 0, at a price of
// two places that changes from fetch to fetch: a 5 min bucket holds two
// fetches, so an advertisement seen twice must count once, at its latest.
void seed(ApiFixture& api) {
  pqxx::connection c(api.db.url());
  pqxx::work tx(c);
  for (const auto& [exchange, side, base] : {std::tuple{"binance", "SELL", 36}, std::tuple{"bybit", "BUY", 40}}) {
    tx.exec_params(
        "INSERT INTO offers (exchange, external_id, fetched_at, fiat, asset, trade_type, price, available, min_limit,"
        " max_limit, advertiser, merchant)"
        " SELECT $1, 'ad' || e, now() - make_interval(secs => k * 150), 'VES', 'USDT', $2,"
        "  $3 + ((k * 7 + e * 13) % 90) / 100.0, 100 + (k * e) % 17 + e / 4.0, 10, 5000, 'adv' || e, e % 2 = 0"
        " FROM generate_series(0, 60) k, generate_series(1, 6) e"
        " WHERE (k <= 40 AND k NOT BETWEEN 20 AND 26 OR k = 60) AND (k + e) % 5 <> 0",
        exchange, side, base);
  }
  tx.commit();
}

// The SQL oracle's answer for one bucket [start, start + width).
struct Expected {
  long long count = 0;
  long long raw_rows = 0;  // before each advertisement counts once
  std::string best, median, worst, available;  // "null" for none
};

Expected bucket_oracle(pqxx::nontransaction& tx, const std::string& market, const std::string& best,
                       const std::string& start, long long width) {
  const std::string in_bucket = "fetched_at >= $1::timestamptz AND fetched_at < $1::timestamptz + make_interval(secs"
                                " => $2)";
  const auto row = tx.exec_params1(
      "SELECT count(*), (SELECT count(*) FROM offers WHERE " + market + " AND " + in_bucket + "),"
      " coalesce(trim_scale(" + best + "(price))::text, 'null'),"
      " coalesce(trim_scale(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY price)::numeric, 8))::text, 'null'),"
      " coalesce(trim_scale(" + std::string(best == "max" ? "min" : "max") + "(price))::text, 'null'),"
      " coalesce(trim_scale(sum(available))::text, 'null')"
      " FROM offers o WHERE " + market + " AND " + in_bucket +
      " AND NOT EXISTS (SELECT 1 FROM offers n WHERE n.exchange = o.exchange AND n.fiat = o.fiat AND n.asset = o.asset"
      "  AND n.trade_type = o.trade_type AND n.external_id = o.external_id AND n.fetched_at >= $1::timestamptz"
      "  AND n.fetched_at < $1::timestamptz + make_interval(secs => $2) AND (n.fetched_at, n.id) > (o.fetched_at, o.id))",
      start, width);
  return {row[0].as<long long>(), row[1].as<long long>(), row[2].as<std::string>(), row[3].as<std::string>(),
          row[4].as<std::string>(), row[5].as<std::string>()};
}

// A served number (or null) is SQL's `sql` ("null" for none). Compared as
// the doubles both decimals read as: the reader keeps no spelling, and two
// equal decimals read as the same double (the served digits are checked
// exactly by the offers API's tests).
bool same(const Json& v, const std::string& sql) {
  if (sql == "null") return v.type == Json::Type::null;
  return v.type == Json::Type::number && v.number == std::stod(sql);
}

// Checks a whole series against the oracle; returns how many buckets were
// empty and how many had an advertisement seen more than once.
std::pair<int, int> check_series(ApiFixture& api, const Json& s, const std::string& market, const std::string& best,
                                 long long width, long long points) {
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);
  const auto& p = s["points"].items;
  REQUIRE(static_cast<long long>(p.size()) == points);
  CHECK(s["bucket_seconds"].integer() == width);
  // Consecutive, aligned to multiples of the width, the newest holding now.
  const auto last = tx.exec_params1(
      "SELECT extract(epoch FROM $1::timestamptz)::bigint % $2, now() >= $1::timestamptz,"
      " now() < $1::timestamptz + make_interval(secs => 2 * $2),"
      " $1::timestamptz - make_interval(secs => $2 * ($3 - 1)) = $4::timestamptz",
      p.back()["time"].text, width, points, p.front()["time"].text);
  CHECK(last[0].as<long long>() == 0);
  CHECK(last[1].as<bool>());
  CHECK(last[2].as<bool>());
  CHECK(last[3].as<bool>());
  int empty = 0, deduplicated = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    INFO("bucket ", p[i]["time"].text);
    if (i > 0) {
      CHECK(tx.exec_params1("SELECT $1::timestamptz - $2::timestamptz = make_interval(secs => $3)", p[i]["time"].text,
                            p[i - 1]["time"].text, width)[0]
                .as<bool>());
    }
    const Expected e = bucket_oracle(tx, market, best, p[i]["time"].text, width);
    CHECK(p[i]["count"].integer() == e.count);
    CHECK_MESSAGE(same(p[i]["best_price"], e.best), e.best);
    CHECK_MESSAGE(same(p[i]["median_price"], e.median), e.median);
    CHECK_MESSAGE(same(p[i]["worst_price"], e.worst), e.worst);
    CHECK_MESSAGE(same(p[i]["available"], e.available), e.available);
    empty += e.count == 0 ? 1 : 0;
    deduplicated += e.raw_rows > e.count ? 1 : 0;
  }
  return {empty, deduplicated};
}

std::map<std::string, std::string> error_types(const Json& body) {
  std::map<std::string, std::string> out;
  for (const auto& e : body["detail"].items) out[e["loc"].items.at(1).text] = e["type"].text;
  return out;
}

const Env no_catalogue{{"BYBIT_PAYMENT_CATALOGUE_SECONDS", "0"}};

}  // namespace

TEST_CASE("series: one point per bucket, each advertisement once per bucket, as SQL computes it") {
  ReplayExchange replay;
  ApiFixture api(replay, no_catalogue);
  seed(api);

  // SELL: the highest price is the best for the client.
  const auto sell = api.get_json("/api/v1/series?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL&window=2h&bucket=5m");
  CHECK(sell["bucket"].text == "5m");
  CHECK(sell["window"].text == "2h");
  CHECK(sell["trade_type"].text == "SELL");
  const auto [empty, deduplicated] = check_series(api, sell, market_a, "max", 300, 24);
  CHECK(empty >= 2);         // the gap, and nothing before the seed's start
  CHECK(deduplicated >= 5);  // buckets of two fetches: what distinct counting changes
  for (const auto& point : sell["points"].items) {
    if (point["count"].integer() > 0) continue;
    CHECK(point["best_price"].type == Json::Type::null);
    CHECK(point["available"].type == Json::Type::null);
  }

  // BUY, another market over the same times: the lowest price is best.
  const auto buy = api.get_json("/api/v1/series?exchange=bybit&fiat=VES&asset=USDT&trade_type=BUY&window=90m&bucket=10m");
  check_series(api, buy, market_b, "min", 600, 9);

  // The other filters narrow the advertisements counted.
  const auto merchants = api.get_json(
      "/api/v1/series?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL&window=2h&bucket=15m&merchant_only=true");
  check_series(api, merchants, market_a + " AND merchant", "max", 900, 8);

  // No bucket: the narrowest usual width within 1000 points.
  const auto day = api.get_json("/api/v1/series?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL");
  CHECK(day["window"].text == "24h");
  CHECK(day["bucket"].text == "5m");
  CHECK(day["points"].items.size() == 288);
  const auto week = api.get_json("/api/v1/series?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL&window=7d");
  CHECK(week["bucket"].text == "15m");
  check_series(api, week, market_a, "max", 900, 672);
}

TEST_CASE("series: a bad or missing parameter is a 422 naming it; too many points is refused, not truncated") {
  ReplayExchange replay;
  ApiFixture api(replay, no_catalogue);
  const std::string market = "/api/v1/series?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL";
  CHECK(error_types(api.get_json("/api/v1/series?fiat=VES", 422)) ==
        std::map<std::string, std::string>{{"exchange", "missing"}, {"asset", "missing"}, {"trade_type", "missing"}});
  CHECK(error_types(api.get_json("/api/v1/series?exchange=&fiat=VES&asset=USDT&trade_type=SELL", 422)) ==
        std::map<std::string, std::string>{{"exchange", "literal_error"}});
  const auto too_many = api.get_json(market + "&window=30d&bucket=1m", 422);
  CHECK(error_types(too_many) == std::map<std::string, std::string>{{"bucket", "value_error"}});
  CHECK(contains(too_many["detail"].items.at(0)["msg"].text, "43200 points; at most 1000"));
  CHECK(error_types(api.get_json(market + "&window=1h&bucket=2h", 422)) ==
        std::map<std::string, std::string>{{"bucket", "value_error"}});
  CHECK(error_types(api.get_json(market + "&window=31d&bucket=5x", 422)) ==
        std::map<std::string, std::string>{{"window", "string_pattern_mismatch"}, {"bucket", "string_pattern_mismatch"}});
  // The widest that fits: 1000 points exactly.
  CHECK(api.get_json(market + "&window=1000m&bucket=1m")["points"].items.size() == 1000);
  CHECK(api.count("SELECT count(*) FROM offers") == 0);
}

TEST_CASE("snapshot: each market's newest fetch, best first, summed as SQL sums it; markets list what has data") {
  ReplayExchange replay;
  ApiFixture api(replay, no_catalogue);
  seed(api);
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);

  const auto all = api.get_json("/api/v1/snapshot");
  REQUIRE(all["markets"].items.size() == 2);
  const auto check_market = [&](const Json& m, const std::string& market, const std::string& where,
                                const std::string& best) {
    INFO(market, " ", where);
    const std::string newest = "fetched_at = (SELECT max(fetched_at) FROM offers WHERE " + market + ")";
    const auto sums = tx.exec1(
        "SELECT count(*), coalesce(trim_scale(" + best + "(price))::text, 'null'),"
        " coalesce(trim_scale(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY price)::numeric, 8))::text, 'null'),"
        " coalesce(trim_scale(sum(available))::text, 'null'),"
        " (SELECT to_char(max(fetched_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM offers WHERE " +
        market + ") FROM offers WHERE " + market + " AND " + newest + where);
    CHECK(m["count"].integer() == sums[0].as<long long>());
    CHECK_MESSAGE(same(m["best_price"], sums[1].as<std::string>()), sums[1].as<std::string>());
    CHECK_MESSAGE(same(m["median_price"], sums[2].as<std::string>()), sums[2].as<std::string>());
    CHECK_MESSAGE(same(m["available"], sums[3].as<std::string>()), sums[3].as<std::string>());
    CHECK(m["fetched_at"].text == sums[4].as<std::string>());
    // Exactly that fetch's offers, best first.
    std::vector<std::string> expected;
    for (const auto& row : tx.exec("SELECT id::text FROM offers WHERE " + market + " AND " + newest + where +
                                   " ORDER BY price " + (best == "max" ? "DESC" : "ASC") + ", id"))
      expected.push_back(row[0].as<std::string>());
    std::vector<std::string> served;
    for (const auto& o : m["offers"].items) served.push_back(o["id"].text);
    CHECK(served == expected);
  };
  check_market(all["markets"].items[0], market_a, "", "max");
  CHECK(all["markets"].items[0]["exchange"].text == "binance");
  check_market(all["markets"].items[1], market_b, "", "min");
  CHECK(all["markets"].items[0]["count"].integer() > 0);

  // One market, the others filters on its newest fetch.
  const auto merchants = api.get_json("/api/v1/snapshot?exchange=binance&merchant_only=true");
  REQUIRE(merchants["markets"].items.size() == 1);
  check_market(merchants["markets"].items[0], market_a, " AND merchant", "max");
  CHECK(merchants["markets"].items[0]["count"].integer() < all["markets"].items[0]["count"].integer());
  // None passes: the market is listed, empty.
  const auto none = api.get_json("/api/v1/snapshot?fiat=VES&min_orders=1");
  REQUIRE(none["markets"].items.size() == 2);
  for (const auto& m : none["markets"].items) {
    CHECK(m["count"].integer() == 0);
    CHECK(m["offers"].items.empty());
    CHECK(m["best_price"].type == Json::Type::null);
  }
  CHECK(api.get_json("/api/v1/snapshot?fiat=ARS")["markets"].items.empty());

  // Markets: what has data, with its first and newest fetch.
  const auto markets = api.get_json("/api/v1/markets");
  std::vector<std::string> served;
  for (const auto& m : markets.items)
    served.push_back(m["exchange"].text + " " + m["fiat"].text + " " + m["asset"].text + " " + m["trade_type"].text +
                     " " + m["first_seen"].text + " " + m["last_seen"].text);
  std::vector<std::string> expected;
  for (const auto& row : tx.exec(
           "SELECT exchange || ' ' || fiat || ' ' || asset || ' ' || trade_type || ' ' ||"
           " to_char(min(fetched_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ' ' ||"
           " to_char(max(fetched_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
           " FROM offers GROUP BY exchange, fiat, asset, trade_type ORDER BY exchange, fiat, asset, trade_type"))
    expected.push_back(row[0].as<std::string>());
  CHECK(served == expected);
  CHECK(served.size() == 2);
  CHECK(api.get_json("/api/v1/markets?trade_type=BUY").items.size() == 1);
  CHECK(error_types(api.get_json("/api/v1/markets?trade_type=HOLD", 422)) ==
        std::map<std::string, std::string>{{"trade_type", "literal_error"}});
}

#pragma once
// The P2P API of the real binary against the replay exchange, on a database
// of its own (libpqxx reads it back as the independent oracle), for the e2e
// files that test the API (offers_api_test.cpp, offer_filters_test.cpp,
// bybit_payment_catalogue_test.cpp).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/json_reader.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/pgbouncer.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/replay_exchange.hpp"
#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

namespace testsupport {

inline std::string key_header() { return "X-API-Key: " + base_service_env().at("API_KEY") + "\r\n"; }

// The replay's paths, for counting what the service asked (/_control/stats).
inline const std::string binance_search_path = "/bapi/c2c/v2/friendly/c2c/adv/search";
inline const std::string bybit_items_path = "/fiat/otc/item/online";
inline const std::string bybit_catalogue_path = "/fiat/otc/configuration/queryAllPaymentList";

// Requests the replay has seen on `path`.
inline long long requests_to(const ReplayExchange& replay, const std::string& path) {
  const Json stats = parse_json(replay.stats());
  return stats["requests"].has(path) ? stats["requests"][path].integer() : 0;
}
// Requests the replay has seen, but for the payment catalogue (fetched in
// the background from start-up on).
inline long long calls_but_catalogue(const ReplayExchange& replay) {
  return parse_json(replay.stats())["total"].integer() - requests_to(replay, bybit_catalogue_path);
}

// The service's database settings for `direct_url`: that URL, or with
// P2P_E2E_PGBOUNCER=1 (ctest e2e-api-pgbouncer) the same database through
// a real PgBouncer in transaction mode, as deploy/k8s runs it: no prepared
// statements, migrations on the direct URL.
inline Env database_env(const std::string& direct_url) {
  if (!through_pgbouncer()) return {{"DATABASE_URL", direct_url}};
  return {{"DATABASE_URL", shared_pgbouncer().url_for(direct_url)},
          {"MIGRATIONS_DATABASE_URL", direct_url},
          {"DB_PREPARED_STATEMENTS", "false"}};
}

// The service on a database of its own, pointed at `replay` for both
// exchanges, with the Bybit payment catalogue on (unless `extra` turns it
// off). Its first catalogue fetch has ended, well or not, before the test
// acts, so that it never interleaves with the test's own requests.
struct ApiFixture {
  explicit ApiFixture(ReplayExchange& replay, const Env& extra = {})
      : db("api", admin_database_url()),
        env(merge_env(merge_env(database_env(db.url()), {{"BINANCE_BASE_URL", replay.base_url()},
                                                         {"BYBIT_BASE_URL", replay.base_url()},
                                                         {"BYBIT_PAYMENT_CATALOGUE_SECONDS", "3600"}}),
                      extra)),
        service(P2P_BINARY, env) {
    if (env.at("BYBIT_PAYMENT_CATALOGUE_SECONDS") != "0") REQUIRE(service.wait_for_line("bybit payment catalogue"));
  }
  PgTestDatabase db;
  Env env;
  RunningService service;

  HttpResponse get(const std::string& target) {
    auto r = http_get(service.port(), target, key_header());
    REQUIRE(r);
    return *r;
  }
  Json get_json(const std::string& target, int status = 200) {
    auto r = get(target);
    INFO(target, " -> ", r.status, " ", r.body);
    REQUIRE(r.status == status);
    REQUIRE(starts_with(r.header("content-type"), "application/json"));
    return parse_json(r.body);
  }
  std::string metrics() {
    auto r = http_get(service.port(), "/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
  }
  long long count(const std::string& sql) {
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    return tx.exec1(sql)[0].as<long long>();
  }
};

inline const Json* find_by_external_id(const Json& offers, const std::string& external_id) {
  for (const auto& o : offers.items)
    if (o["external_id"].text == external_id) return &o;
  return nullptr;
}

inline std::vector<std::string> names(const Json& array) {
  std::vector<std::string> out;
  for (const auto& item : array.items) out.push_back(item.text);
  return out;
}

inline const std::string binance_sell = "/api/v1/binance/offers?fiat=VES&asset=USDT&tradeType=SELL";
inline const std::string bybit_buy = "/api/v1/bybit/offers?fiat=VES&asset=USDT&tradeType=BUY";
inline constexpr long long binance_valid = 8;  // of 9 in the fixture: one has price "abc"
inline constexpr long long bybit_valid = 6;    // of 7: one has price null

}  // namespace testsupport

// e2e: Bybit's payment catalogue (id -> name), fetched from the replay
// exchange in the background, cached, and kept when Bybit fails; ids it does
// not name are stored as "Bybit payment N" and counted.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

const std::string missing_names = "bybit_payment_names_missing_total";
const std::string refreshed_ok = "bybit_payment_catalogue_refreshes_total{outcome=\"ok\"}";
const std::string refresh_failed = "bybit_payment_catalogue_refreshes_total{outcome=\"error\"}";

std::vector<std::string> methods_of(const Json& offers, const std::string& external_id) {
  const Json* o = find_by_external_id(offers, external_id);
  REQUIRE(o != nullptr);
  return names((*o)["payment_methods"]);
}

bool stored_method(ApiFixture& api, const std::string& name) {
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);
  return tx.exec_params1("SELECT count(*) FROM payment_methods WHERE name = $1", name)[0].as<int>() == 1;
}

// /metrics until `series` reaches `at_least` (a background refresh), bounded.
double await_metric(ApiFixture& api, const std::string& series, double at_least) {
  double value = -1;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    value = metric_sample(api.metrics(), series);
    if (value >= at_least) break;
    std::this_thread::sleep_for(20ms);
  }
  return value;
}

}  // namespace

TEST_CASE("the catalogue names Bybit's payment ids; an id it lacks is stored as \"Bybit payment N\" and counted") {
  ReplayExchange replay;
  ApiFixture api(replay);
  const auto offers = api.get_json(bybit_buy);
  // #2 and #3 send ids only; 999 is not in the catalogue; " Mercantil " is trimmed.
  CHECK(methods_of(offers, "1860000000000000002") == std::vector<std::string>{"Banesco"});
  CHECK(methods_of(offers, "1860000000000000003") == std::vector<std::string>{"Bybit payment 999", "Mercantil"});
  CHECK(stored_method(api, "Bybit payment 999"));
  CHECK(stored_method(api, "Mercantil"));

  const auto metrics = api.metrics();
  CHECK(metric_sample(metrics, missing_names) == 1);
  CHECK(metric_sample(metrics, refreshed_ok) == 1);
  CHECK(metric_sample(metrics, "bybit_payment_catalogue_entries") == 5);  // an empty name and a null id are ignored
  CHECK(metric_sample(metrics, "bybit_payment_catalogue_last_success_timestamp_seconds") > 1.7e9);
  CHECK(requests_to(replay, bybit_catalogue_path) == 1);  // cached: one fetch for start-up and the offers

  api.get_json(bybit_buy);
  CHECK(metric_sample(api.metrics(), missing_names) == 2);  // per stored offer
  CHECK(requests_to(replay, bybit_catalogue_path) == 1);
}

TEST_CASE("a failing catalogue endpoint: the last good copy keeps naming offers, and a later refresh recovers") {
  ReplayExchange replay;
  ApiFixture api(replay, {{"BYBIT_PAYMENT_CATALOGUE_SECONDS", "1"},
                          {"BYBIT_PAYMENT_CATALOGUE_RETRY_SECONDS", "1"},
                          {"UPSTREAM_RETRIES", "0"}});
  REQUIRE(api.service.wait_for_line("bybit payment catalogue: 5 names"));
  replay.fault("status:500", 0, "/fiat/otc/configuration");
  const auto failed = api.service.wait_for_line("bybit payment catalogue refresh failed");
  REQUIRE(failed);
  CHECK(contains(*failed, "serving the last good copy (5 names"));
  CHECK(await_metric(api, refresh_failed, 1) >= 1);

  const auto offers = api.get_json(bybit_buy);
  CHECK(methods_of(offers, "1860000000000000002") == std::vector<std::string>{"Banesco"});
  CHECK(methods_of(offers, "1860000000000000003") == std::vector<std::string>{"Bybit payment 999", "Mercantil"});
  CHECK(metric_sample(api.metrics(), missing_names) == 1);  // still only 999

  // Bybit answers again: the next retry installs a fresh copy.
  const double ok_before = metric_sample(api.metrics(), refreshed_ok);
  replay.reset();
  CHECK(await_metric(api, refreshed_ok, ok_before + 1) >= ok_before + 1);
}

TEST_CASE("no catalogue since start-up: ids are named \"Bybit payment N\", counted, and the offers are stored") {
  ReplayExchange replay;
  replay.fault("status:503", 0, "/fiat/otc/configuration");
  ApiFixture api(replay, {{"UPSTREAM_RETRIES", "0"}});
  const auto failed = api.service.wait_for_line("bybit payment catalogue refresh failed");
  REQUIRE(failed);
  CHECK(contains(*failed, "payment ids are named \"Bybit payment N\" until one arrives"));

  const auto offers = api.get_json(bybit_buy);
  CHECK(offers.items.size() == bybit_valid);
  CHECK(methods_of(offers, "1860000000000000002") == std::vector<std::string>{"Bybit payment 1"});
  CHECK(methods_of(offers, "1860000000000000003") ==
        std::vector<std::string>{"Bybit payment 75", "Bybit payment 999"});
  // paymentTerms carry their own names.
  CHECK(methods_of(offers, "1860000000000000001") == std::vector<std::string>{"Bank Transfer", "Pago Movil"});
  CHECK(stored_method(api, "Bybit payment 1"));
  CHECK(api.count("SELECT count(*) FROM offers") == bybit_valid);

  const auto metrics = api.metrics();
  CHECK(metric_sample(metrics, missing_names) == 3);
  CHECK(metric_sample(metrics, refresh_failed) >= 1);
  CHECK(metric_sample(metrics, "bybit_payment_catalogue_last_success_timestamp_seconds") == 0);
}

TEST_CASE("the catalogue off (BYBIT_PAYMENT_CATALOGUE_SECONDS=0): never asked for, ids named after themselves") {
  ReplayExchange replay;
  ApiFixture api(replay, {{"BYBIT_PAYMENT_CATALOGUE_SECONDS", "0"}});
  const auto offers = api.get_json(bybit_buy);
  CHECK(methods_of(offers, "1860000000000000002") == std::vector<std::string>{"Bybit payment 1"});
  CHECK(requests_to(replay, bybit_catalogue_path) == 0);
  CHECK(metric_sample(api.metrics(), missing_names) == 3);
}

TEST_CASE("--help lists the catalogue settings with their defaults") {
  auto result = run_to_exit(P2P_BINARY, {"--help"}, {});
  REQUIRE(result.exit_code == 0);
  CHECK(contains(result.output, "BYBIT_PAYMENT_CATALOGUE_SECONDS"));
  CHECK(contains(result.output, "BYBIT_PAYMENT_CATALOGUE_RETRY_SECONDS"));
  CHECK(contains(result.output, "3600"));
}

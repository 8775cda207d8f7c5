// e2e (ctest entry e2e-upstream): what the real binary does with hostile
// answers from an exchange, through the bundled replay exchange's faults:
// each row its expected answer (502/504 with {"detail": ...}, or 200 with
// what is valid), nothing stored from a bad batch beyond what is valid, and
// the service serving afterwards. Loopback only; every row is one call.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string binance_pairs = "/api/v1/binance/pairs";

// The process serves on.
void check_still_serving(ApiFixture& api) {
  auto health = http_get(api.service.port(), "/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(api.service.process().running());
}

}  // namespace

TEST_CASE("hostile upstream answers: each fails its call alone with 502/504 and stores nothing") {
  ReplayExchange replay;
  // 3 s: enough for the replay to build its 12 MiB answer on a loaded machine.
  ApiFixture api(replay, {{"UPSTREAM_TIMEOUT_SECONDS", "3"}, {"UPSTREAM_RETRIES", "0"}});
  struct Row {
    std::string fault;
    std::string target;
    int status;
    std::string detail;  // the whole detail starts with the route's prefix and contains this
  };
  const std::vector<Row> rows{
      {"huge", binance_sell, 502, "body_too_large"},                      // 12 MiB, over UPSTREAM_MAX_RESPONSE_BYTES
      {"deep", binance_sell, 502, "invalid JSON from exchange"},          // 100000 levels, over kMaxJsonDepth
      {"truncated_json", binance_sell, 502, "invalid JSON from exchange"},  // half a JSON text, whole HTTP
      {"truncate", binance_sell, 502, ""},                                // the connection closes mid-body
      {"many", binance_sell, 502, "5000 offers in one page, more than 100"},
      {"many", bybit_buy, 502, "5000 offers in one page, more than 100"},
      {"redirect", binance_sell, 502, "status 302"},                     // never followed
      {"drip:500", binance_sell, 504, "timeout"},                        // a byte every 500 ms: the call's total bound
      {"wide", binance_pairs, 502, "and 2000 fiats make more than 10000 pairs"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.fault);
    CAPTURE(row.target);
    replay.reset();
    replay.fault(row.fault);
    const auto t0 = Clock::now();
    auto body = api.get_json(row.target, row.status);
    const auto took = Clock::now() - t0;
    const std::string prefix = row.target == binance_pairs ? "Error fetching Binance pairs: "
                               : row.target == bybit_buy   ? "Error fetching Bybit offers: "
                                                           : "Error fetching Binance offers: ";
    CHECK(starts_with(body["detail"].text, prefix));
    CHECK(contains(body["detail"].text, row.detail));
    CHECK(took < 6s);  // UPSTREAM_TIMEOUT_SECONDS (3 s) bounds even the drip
    CHECK(api.count("SELECT count(*) FROM offers") == 0);
    CHECK(api.count("SELECT count(*) FROM payment_methods") == 0);
    check_still_serving(api);
  }
  // The redirect was answered, not followed.
  replay.reset();
  replay.fault("redirect");
  api.get_json(binance_sell, 502);
  CHECK(requests_to(replay, binance_search_path) == 1);

  // And once the exchange behaves, everything works: offers, pairs (not cached while failing).
  replay.reset();
  CHECK(api.get_json(binance_sell).items.size() == binance_valid);
  CHECK(api.get_json(bybit_buy).items.size() == bybit_valid);
  CHECK(api.get_json(binance_pairs).items.size() == 9);
  CHECK(api.count("SELECT count(*) FROM offers") == binance_valid + bybit_valid);
}

TEST_CASE("a NUL inside upstream strings: names are cleaned and counted, an id holding one skips its offer") {
  ReplayExchange replay;
  ApiFixture api(replay);
  replay.fault("nul");
  auto binance = api.get_json(binance_sell);
  auto bybit = api.get_json(bybit_buy);
  // One offer of each exchange had a NUL in its id: skipped; the others are stored.
  CHECK(binance.items.size() == binance_valid - 1);
  CHECK(bybit.items.size() == bybit_valid - 1);
  CHECK(find_by_external_id(binance, "11580000000000000002") == nullptr);
  CHECK(find_by_external_id(bybit, "1860000000000000002") == nullptr);
  const Json* crypto = find_by_external_id(binance, "11580000000000000001");
  REQUIRE(crypto != nullptr);
  CHECK((*crypto)["advertiser"].text == "CryptoVE");
  CHECK(names((*crypto)["payment_methods"]) == std::vector<std::string>{"Bank Transfer", "Pago Movil"});
  const Json* vzla = find_by_external_id(bybit, "1860000000000000001");
  REQUIRE(vzla != nullptr);
  CHECK((*vzla)["advertiser"].text == "VzlaTrader");
  CHECK(api.count("SELECT count(*) FROM offers") == binance_valid - 1 + bybit_valid - 1);
  CHECK(api.count("SELECT count(*) FROM offers WHERE advertiser IN ('CryptoVE', 'VzlaTrader')") == 2);
  CHECK(api.count("SELECT count(*) FROM payment_methods WHERE name = 'Bank Transfer'") == 1);
  const auto metrics = api.metrics();
  CHECK(metric_sample(metrics, "exchange_offer_texts_cleaned_total{exchange=\"binance\",field=\"advertiser\"}") == 1);
  CHECK(metric_sample(metrics, "exchange_offer_texts_cleaned_total{exchange=\"binance\",field=\"payment_method\"}") ==
        1);
  CHECK(metric_sample(metrics, "exchange_offer_texts_cleaned_total{exchange=\"bybit\",field=\"advertiser\"}") == 1);
  CHECK(contains(api.service.output(), "offer skipped: external id: contains a NUL character"));
  check_still_serving(api);
}

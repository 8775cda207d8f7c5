// e2e: several real service processes on one real database, as replicas on
// Kubernetes run: each scrape target fetched once per interval whatever the
// replica count, a successor within about one interval when the holder dies
// (SIGKILL) or stops (SIGTERM), 429 + Retry-After honoured by every replica,
// and retention deleting old rows in batches, one replica at a time, with
// new rows and their links intact. The replay exchange counts requests per
// path (one Binance and one Bybit target: one path each); libpqxx is the
// oracle for what was stored.

#include <doctest/doctest.h>

#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string binance_lease = "scrape:binance:USDT/VES:BUY";
const std::string bybit_lease = "scrape:bybit:USDT/VES:SELL";

// Replicas of the service on one database of their own, scraping both
// exchanges of `replay` every second.
struct Replicas {
  Replicas(ReplayExchange& replay, int count, const Env& extra = {})
      : db("scale", admin_database_url()),
        env(merge_env(merge_env(database_env(db.url()), {{"BINANCE_BASE_URL", replay.base_url()},
                                                         {"BYBIT_BASE_URL", replay.base_url()},
                                                         {"SCRAPE_TARGETS", "binance:USDT/VES:BUY,bybit:USDT/VES:SELL"},
                                                         {"SCRAPE_INTERVAL_SECONDS", "1"},
                                                         {"UPSTREAM_RETRIES", "0"},
                                                         {"TELEMETRY_ENABLED", "false"},
                                                         {"LOG_LEVEL", "info"}}),
                      extra)) {
    for (int i = 0; i < count; ++i) services.push_back(std::make_unique<RunningService>(P2P_BINARY, env, 30s));
  }
  PgTestDatabase db;
  Env env;
  std::vector<std::unique_ptr<RunningService>> services;

  // Seconds (database clock) of each batch `exchange` stored, oldest first:
  // one batch per stored round, since a round is one transaction.
  std::vector<double> batches(const std::string& exchange) {
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    std::vector<double> out;
    for (const auto& row : tx.exec_params("SELECT extract(epoch FROM fetched_at)::float8 FROM offers WHERE exchange = $1"
                                          " GROUP BY fetched_at ORDER BY fetched_at",
                                          exchange))
      out.push_back(row[0].as<double>());
    return out;
  }
  // Who holds `lease`, as /debug/leases of the first live replica says ("" if nobody).
  std::string holder(const std::string& lease) {
    for (auto& s : services) {
      if (!s || !s->process().running()) continue;
      auto r = http_get(s->port(), "/debug/leases", key_header());
      REQUIRE(r);
      REQUIRE(r->status == 200);
      const auto body = parse_json(r->body);  // named: a range-for over a temporary's member dangles
      for (const auto& l : body["leases"].items)
        if (l["name"].text == lease && !l["expired"].boolean) return l["holder"].text;
      return "";
    }
    return "";
  }
  // The replica whose holder id is `holder` (it names the process id).
  std::size_t index_of(const std::string& holder) {
    for (std::size_t i = 0; i < services.size(); ++i)
      if (services[i] && contains(holder, ":" + std::to_string(services[i]->process().pid()) + ":")) return i;
    FAIL("no replica holds as ", holder);
    return 0;
  }
};

// Polls `done` every 20 ms until it is true or `timeout` passes.
template <typename Done>
bool eventually(Done done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

long long count_rows(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<long long>();
}

// A migrated database of its own with offers 40 days old (and links).
void seed_old_offers(const std::string& url, int count) {
  auto migrate = run_to_exit(P2P_BINARY, {"migrate"}, merge_env(base_service_env(), {{"DATABASE_URL", url}}));
  REQUIRE(migrate.exit_code == 0);
  pqxx::connection c(url);
  pqxx::work tx(c);
  tx.exec0("INSERT INTO payment_methods (name) VALUES ('Old Bank'), ('Pago Movil')");
  tx.exec0(
      "INSERT INTO offers (exchange, external_id, fetched_at, fiat, asset, trade_type, price, available, min_limit,"
      " max_limit) SELECT 'binance', 'old-' || i, now() - interval '40 days' - i * interval '1 minute', 'VES', 'USDT',"
      " 'BUY', 36, 1, 1, 1 FROM generate_series(1, " + std::to_string(count) + ") i");
  tx.exec0("INSERT INTO offer_payment_methods SELECT o.id, pm.id FROM offers o, payment_methods pm");
  tx.commit();
}

// The shortest gap between consecutive batches (seconds), over `times`.
double shortest_gap(const std::vector<double>& times) {
  double gap = 1e9;
  for (std::size_t i = 1; i < times.size(); ++i) gap = std::min(gap, times[i] - times[i - 1]);
  return gap;
}

}  // namespace

TEST_CASE("three replicas scrape each target once per interval; a successor takes over from a holder killed or stopped") {
  ReplayExchange replay;
  Replicas r(replay, 3);
  REQUIRE(eventually([&] { return r.batches("binance").size() >= 6 && r.batches("bybit").size() >= 6; }, 20s));

  // Once per interval, not three times: the requests are the batches, a second apart.
  for (const std::string exchange : {"binance", "bybit"}) {
    CAPTURE(exchange);
    const auto times = r.batches(exchange);
    CHECK(shortest_gap(times) > 0.8);
    const auto path = exchange == "binance" ? binance_search_path : bybit_items_path;
    const auto requests = requests_to(replay, path);
    CHECK(requests >= static_cast<long long>(times.size()));
    CHECK(requests <= static_cast<long long>(times.size()) + 1);  // one may be in flight
  }
  // Who holds what: one holder per target, the same in every replica's view,
  // and /metrics agrees: exactly one replica says it holds the Binance target.
  const auto first = r.holder(binance_lease);
  REQUIRE_FALSE(first.empty());
  int holders = 0;
  for (auto& s : r.services) {
    auto metrics = http_get(s->port(), "/metrics");
    REQUIRE(metrics);
    holders += metric_sample(metrics->body, "lease_held{name=\"" + binance_lease + "\"}") == 1 ? 1 : 0;
    CHECK(metric_sample(metrics->body, "lease_holder{name=\"" + binance_lease + "\",holder=\"" + first + "\"}") == 1);
  }
  CHECK(holders == 1);

  // The holder dies without a word: another replica takes over once its lease
  // expires (interval + margin = 2 s after its last renewal).
  const auto killed = r.index_of(first);
  const auto before_kill = r.batches("binance").size();
  const auto t_kill = Clock::now();
  r.services[killed]->signal(SIGKILL);
  REQUIRE(r.services[killed]->wait_exit(5s));
  REQUIRE(eventually([&] { return r.batches("binance").size() > before_kill; }, 10s));
  const auto takeover_ms = ms_since(t_kill);
  MESSAGE("after SIGKILL of the holder, the next Binance batch came ", takeover_ms, " ms later");
  CHECK(takeover_ms < 3500);
  const auto second = r.holder(binance_lease);
  CHECK_FALSE(second.empty());
  CHECK(second != first);
  r.services[killed].reset();

  // The new holder stops cleanly: it releases its leases, and the last replica
  // takes over when its look at the lease comes, within the lease's length.
  const auto stopped = r.index_of(second);
  const auto before_stop = r.batches("binance").size();
  const auto t_stop = Clock::now();
  r.services[stopped]->signal(SIGTERM);
  CHECK(r.services[stopped]->wait_exit(10s) == 0);
  CHECK(contains(r.services[stopped]->output(), "lease(s) released"));
  REQUIRE(eventually([&] { return r.batches("binance").size() > before_stop; }, 10s));
  MESSAGE("after SIGTERM of the holder, the next Binance batch came ", ms_since(t_stop), " ms later");
  CHECK(ms_since(t_stop) < 3500);
  r.services[stopped].reset();
  const auto third = r.holder(binance_lease);
  CHECK(third != first);
  CHECK(third != second);

  // Across both hand-overs, never two rounds of a target within an interval.
  CHECK(shortest_gap(r.batches("binance")) > 0.8);
  CHECK(shortest_gap(r.batches("bybit")) > 0.8);
}

TEST_CASE("a 429 with Retry-After leaves the exchange alone that long, in every replica, then scraping resumes") {
  ReplayExchange replay;
  Replicas r(replay, 2, {{"SCRAPE_TARGETS", "binance:USDT/VES:BUY"}});
  REQUIRE(eventually([&] { return requests_to(replay, binance_search_path) >= 2; }, 20s));

  const auto n0 = requests_to(replay, binance_search_path);
  replay.fault("status:429:3", 1, binance_search_path);
  REQUIRE(eventually([&] { return requests_to(replay, binance_search_path) >= n0 + 1; }, 5s));
  const auto t_429 = Clock::now();  // the rate-limited request arrived
  REQUIRE(eventually([&] { return requests_to(replay, binance_search_path) >= n0 + 2; }, 10s));
  const auto paused_ms = ms_since(t_429);
  MESSAGE("the next request came ", paused_ms, " ms after the 429 (Retry-After: 3)");
  CHECK(paused_ms >= 2900);  // the other replica did not step in either
  CHECK(paused_ms < 5000);
  const auto holder = r.index_of(r.holder(binance_lease));
  CHECK(contains(r.services[holder]->output(), "rate-limited: status 429"));
  CHECK(contains(r.services[holder]->output(), "no binance target is asked for 3 s"));
  // And back to once a second.
  REQUIRE(eventually([&] { return requests_to(replay, binance_search_path) >= n0 + 4; }, 5s));
}

TEST_CASE("retention deletes old offers and events in batches, keeps new rows and their links; one replica runs it") {
  ReplayExchange replay;
  PgTestDatabase db("retention", admin_database_url());
  const Env env = merge_env(database_env(db.url()), {{"BINANCE_BASE_URL", replay.base_url()},
                                                      {"BYBIT_BASE_URL", replay.base_url()},
                                                      {"OFFERS_RETENTION", "30d"},
                                                      {"TELEMETRY_RETENTION", "7d"},
                                                      {"RETENTION_INTERVAL_SECONDS", "1"},
                                                      {"RETENTION_BATCH_ROWS", "7"},
                                                      {"TELEMETRY_ENABLED", "false"}});
  // History to age: 20 offers 40 days old and 5 of 29 days, all linked to
  // both payment methods; events of 8 days and of 1 day.
  seed_old_offers(db.url(), 20);
  {
    pqxx::connection c(db.url());
    pqxx::work tx(c);
    tx.exec0(
        "INSERT INTO offers (exchange, external_id, fetched_at, fiat, asset, trade_type, price, available, min_limit,"
        " max_limit) SELECT 'binance', 'recent-' || i, now() - interval '29 days', 'VES', 'USDT', 'BUY', 36, 1, 1, 1"
        " FROM generate_series(1, 5) i");
    tx.exec0(
        "INSERT INTO offer_payment_methods SELECT o.id, pm.id FROM offers o, payment_methods pm"
        " WHERE o.external_id LIKE 'recent-%'");
    tx.exec0(
        "INSERT INTO telemetry_events (kind, at, duration_seconds, method, route, status)"
        " SELECT 'http', now() - interval '8 days' - i * interval '1 second', 0.001, 'GET', '/', 200"
        " FROM generate_series(1, 30) i");
    tx.exec0(
        "INSERT INTO telemetry_events (kind, at, duration_seconds, method, route, status)"
        " SELECT 'http', now() - interval '1 day', 0.001, 'GET', '/', 200 FROM generate_series(1, 4) i");
    tx.commit();
  }
  const auto count = [&db](const std::string& sql) { return count_rows(db.url(), sql); };
  RunningService a(P2P_BINARY, env);
  RunningService b(P2P_BINARY, env);

  REQUIRE(eventually([&] { return count("SELECT count(*) FROM offers WHERE external_id LIKE 'old-%'") == 0; }, 20s));
  REQUIRE(eventually([&] { return count("SELECT count(*) FROM telemetry_events WHERE at < now() - interval '7 days'") == 0; },
                     20s));
  // New rows stay, each still linked to both payment methods; the methods stay.
  CHECK(count("SELECT count(*) FROM offers") == 5);
  CHECK(count("SELECT count(*) FROM offer_payment_methods") == 5 * 2);
  CHECK(count("SELECT count(*) FROM offer_payment_methods opm JOIN offers o ON o.id = opm.offer_id") == 5 * 2);
  CHECK(count("SELECT count(*) FROM payment_methods") == 2);
  CHECK(count("SELECT count(*) FROM telemetry_events") == 4);
  // And stored offers still read back through the API.
  auto history = http_get(a.port(), "/api/v1/offers?limit=500", key_header());
  REQUIRE(history);
  CHECK(parse_json(history->body)["items"].items.size() == 5);

  // One replica deleted everything, in batches of 7: 20 offers in 3 batches.
  const auto both = a.output() + b.output();
  CHECK(contains(both, "retention: took the lease"));
  CHECK(contains(both, "this replica stands by"));
  CHECK(contains(both, "deleted 20 rows of offers older than 30d in 3 batch(es)"));
  CHECK(contains(both, "deleted 30 rows of telemetry_events older than 7d in 5 batch(es)"));
  const auto metrics_a = http_get(a.port(), "/metrics");
  const auto metrics_b = http_get(b.port(), "/metrics");
  REQUIRE(metrics_a);
  REQUIRE(metrics_b);
  const auto deleted = [](const std::string& m) {
    return std::max(0.0, metric_sample(m, "retention_deleted_rows_total{table=\"offers\"}"));
  };
  CHECK(deleted(metrics_a->body) + deleted(metrics_b->body) == 20);
}

TEST_CASE("bad retention settings are configuration errors (exit 2, naming the variable), and nothing is deleted") {
  PgTestDatabase db("retention_bad", admin_database_url());
  seed_old_offers(db.url(), 3);
  const auto env = merge_env(base_service_env(), {{"PORT", std::to_string(free_port())}, {"DATABASE_URL", db.url()}});
  // "30" and "30m" would keep nothing of a 40-day history if they were taken for seconds or minutes.
  for (const auto& pair : std::vector<std::pair<std::string, std::string>>{{"OFFERS_RETENTION", "30"},
                                                                                    {"OFFERS_RETENTION", "30m"},
                                                                                    {"OFFERS_RETENTION", "3651d"},
                                                                                    {"TELEMETRY_RETENTION", "-7d"},
                                                                                    {"RETENTION_BATCH_ROWS", "0"},
                                                                                    {"RETENTION_INTERVAL_SECONDS", "x"}}) {
    // Named, not a structured binding: clang 14 (the sanitizer builds) cannot capture one in INFO.
    const std::string& name = pair.first;
    const std::string& value = pair.second;
    auto r = run_to_exit(P2P_BINARY, {}, merge_env(env, {{name, value}}));
    INFO(name, "=", value, ": ", r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "config error: " + name));
  }
  CHECK(count_rows(db.url(), "SELECT count(*) FROM offers") == 3);
  CHECK(count_rows(db.url(), "SELECT count(*) FROM offer_payment_methods") == 6);
}

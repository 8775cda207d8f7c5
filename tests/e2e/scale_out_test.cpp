// e2e: several real service processes on one real database, as replicas on
// Kubernetes run: each scrape target fetched once per interval whatever the
// replica count, a successor within about one interval when the holder dies
// (SIGKILL) or stops (SIGTERM), 429 + Retry-After honoured by every replica. The replay exchange counts requests per
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

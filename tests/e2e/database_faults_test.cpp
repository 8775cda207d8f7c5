// e2e fault tests (ctest entry e2e-pg-faults, labels pg;faults): the real
// binary while its PostgreSQL is stopped, started, restarted or has its
// connections killed. Every test runs its own private cluster (PgCluster:
// scripts/pg in a temp dir on a free port, stopped and deleted at the end,
// pass or fail), so these tests can run in parallel with everything else.
// Measured delays are printed with MESSAGE.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/json_reader.hpp"
#include "tests/e2e/pg_cluster.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/replay_exchange.hpp"
#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string key_header() { return "X-API-Key: " + base_service_env().at("API_KEY") + "\r\n"; }

Json debug_db(int port) {
  auto r = http_get(port, "/debug/db", key_header());
  REQUIRE(r);
  INFO("body: ", r->body);
  REQUIRE(r->status == 200);
  return parse_json(r->body);
}

// Polls /ready every 10 ms; the moment it first answered 200, or nullopt at the deadline.
std::optional<Clock::time_point> wait_ready_at(int port, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto r = http_get(port, "/ready");
    if (r && r->status == 200) return Clock::now();
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

// Polls until pool.size in /debug/db equals the service's backends in
// pg_stat_activity (connection accounting survived the fault); false at the deadline.
bool pool_matches_backends(int port, const std::string& url, const std::string& dbname, long long& size,
                           long long& backends) {
  auto deadline = Clock::now() + 5s;
  for (;;) {
    size = debug_db(port)["pool"]["size"].integer();
    try {
      backends = app_backends(url, dbname);
    } catch (const std::exception&) {
      backends = -1;
    }
    if (size == backends) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// Waits for a scripts/pg child to finish; fails the test (with its output) if it did not succeed.
void require_script_ok(ChildProcess& script, const char* what) {
  auto code = script.wait_exit(90s);
  script.wait_output_closed(2s);
  INFO("scripts/pg ", what, " output:\n", script.output());
  REQUIRE(code == 0);
}

}  // namespace

TEST_CASE("database down at start-up: live, not ready, and ready soon after the cluster comes up") {
  PgCluster cluster;
  cluster.stop();
  RunningService svc(p2p_binary(), {{"DATABASE_URL", cluster.url()}, {"DB_CONNECT_TIMEOUT", "1"}});
  INFO("service output:\n", svc.output());
  const auto started = Clock::now();

  CHECK(svc.wait_for_line("database unavailable at start-up: ", 1s));
  CHECK(contains(svc.output(), "; serving not ready and reconnecting in the background"));

  auto health = http_get(svc.port(), "/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto ready = http_get(svc.port(), "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK(ready->body == R"({"status":"not ready","detail":"Application not ready: Database connection failed"})");
  auto verbose = http_get(svc.port(), "/ready?verbose");
  REQUIRE(verbose);
  CHECK(verbose->status == 503);
  CHECK(contains(verbose->body, "[-]database failed: Database connection failed\n"));
  CHECK(contains(verbose->body, "[-]schema failed"));

  auto down = debug_db(svc.port());
  CHECK_FALSE(down["connected"].boolean);
  CHECK_FALSE(down["schema_migrated"].boolean);
  CHECK_FALSE(down["pool"]["healthy"].boolean);
  CHECK(down["pool"]["size"].integer() == 0);
  CHECK(down["pool"]["failed_total"].integer() >= 1);
  REQUIRE(down.has("last_error"));
  CHECK_FALSE(down["last_error"].text.empty());
  CHECK_FALSE(contains(down["last_error"].text, cluster.password()));

  // Still alive well past DB_CONNECT_TIMEOUT (the process never exits because the database is down).
  std::this_thread::sleep_for(1500ms - std::chrono::milliseconds(std::min<long long>(ms_since(started), 1500)));
  CHECK(svc.process().running());
  auto still = http_get(svc.port(), "/ready");
  REQUIRE(still);
  CHECK(still->status == 503);

  // Start the cluster; "up" is the first moment an independent client gets in.
  auto starting = cluster.start_async();
  auto up = wait_pg_accepts(cluster.url(), 60s);
  REQUIRE(up);
  auto ready_at = wait_ready_at(svc.port(), 10s);
  require_script_ok(*starting, "start");
  REQUIRE(ready_at);
  const auto delay = ms_between(*up, *ready_at);
  MESSAGE("/ready turned 200 ", delay, " ms after the cluster accepted connections (down for ",
          ms_between(started, *up), " ms)");
  CHECK(delay <= 1000);  // the issue: readiness follows within 1 s

  auto r = http_get(svc.port(), "/ready");
  REQUIRE(r);
  auto body = parse_json(r->body);
  CHECK(body["status"].text == "ready");
  CHECK(body["checks"]["database"].text == "ok");
  CHECK(body["checks"]["schema"].text == "ok");
  // Telemetry reconnects on a backoff of its own: "ok" or, for a moment, "degraded".
  CHECK(body["checks"].has("telemetry"));
  CHECK(svc.wait_for_line("database connection restored after ", 2s));
  CHECK(svc.wait_for_line("schema migrations applied in the background", 2s));
  auto after = debug_db(svc.port());
  CHECK(after["connected"].boolean);
  CHECK(after["schema_migrated"].boolean);
  CHECK(starts_with(after["server_version"].text, "15"));
  CHECK_FALSE(after.has("last_error"));
  CHECK_FALSE(contains(svc.output(), cluster.password()));
  long long size = -1, backends = -2;
  CHECK(pool_matches_backends(svc.port(), cluster.url(), url_database(cluster.url()), size, backends));
  CAPTURE(size);
  CAPTURE(backends);
  CHECK(size >= 1);
}

TEST_CASE("DB_FAIL_FAST=true: start-up exits 1 when the database is unreachable") {
  SUBCASE("the cluster is stopped (connection refused)") {
    PgCluster cluster;
    cluster.stop();
    auto env = merge_env(base_service_env(), {{"PORT", std::to_string(free_port())},
                                              {"DATABASE_URL", cluster.url()},
                                              {"DB_FAIL_FAST", "true"},
                                              {"DB_CONNECT_TIMEOUT", "1"}});
    auto t0 = Clock::now();
    auto result = run_to_exit(p2p_binary(), {}, env, 6s);
    auto took = ms_since(t0);
    INFO("output:\n", result.output);
    MESSAGE("DB_FAIL_FAST with the cluster stopped: exit after ", took, " ms");
    REQUIRE(result.exit_code);  // no hang
    CHECK(*result.exit_code == 1);
    CHECK(took <= 1000 + 2000);
    CHECK(contains(result.output, "DB_FAIL_FAST"));
    CHECK(contains(result.output, "component postgres-pool failed to start"));
    CHECK_FALSE(contains(result.output, " ready\n"));
    CHECK_FALSE(contains(result.output, cluster.password()));
  }
  SUBCASE("the server accepts TCP but never answers: exit after DB_CONNECT_TIMEOUT") {
    PortHolder blackhole;  // listens, never accepts: the handshake completes, no byte ever comes back
    auto env = merge_env(base_service_env(),
                         {{"PORT", std::to_string(free_port())},
                          {"DATABASE_URL", "postgresql://u:secret-pw-42@127.0.0.1:" +
                                               std::to_string(blackhole.port()) + "/none"},
                          {"DB_FAIL_FAST", "true"},
                          {"DB_CONNECT_TIMEOUT", "1"}});
    auto t0 = Clock::now();
    auto result = run_to_exit(p2p_binary(), {}, env, 6s);
    auto took = ms_since(t0);
    INFO("output:\n", result.output);
    MESSAGE("DB_FAIL_FAST with an unresponsive server: exit after ", took, " ms");
    REQUIRE(result.exit_code);  // no hang
    CHECK(*result.exit_code == 1);
    CHECK(took >= 900);
    CHECK(took <= 1000 + 2000);
    CHECK(contains(result.output, "DB_FAIL_FAST"));
    CHECK_FALSE(contains(result.output, "secret-pw-42"));
  }
}

TEST_CASE("cluster restart (pg_ctl restart -m fast) while /ready is hammered") {
  PgCluster cluster;
  const std::string dbname = url_database(cluster.url());
  constexpr int kPoolSize = 2, kOverflow = 1;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", cluster.url()},
                                    {"DB_POOL_SIZE", std::to_string(kPoolSize)},
                                    {"DB_MAX_OVERFLOW", std::to_string(kOverflow)},
                                    {"DB_CONNECT_TIMEOUT", "1"}});
  INFO("service output:\n", svc.output());
  REQUIRE(wait_ready_at(svc.port(), 5s));

  // Hammer: 3 clients, a fresh connection per request (as probes do), paced
  // (~1500 requests/s in all: no ephemeral-port exhaustion from TIME_WAIT),
  // bounded by count and time.
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<int, int> statuses;  // status → count; 0 = no response (connection refused/dropped/timeout)
  std::vector<std::string> oddities;
  std::vector<std::pair<Clock::time_point, int>> timeline;  // when each answer arrived, and its status
  std::condition_variable answered;                         // timeline grew
  // Waits (at most 5 s) until `n` answers arrived in all; false if they did not.
  const auto wait_answers = [&](std::size_t n) {
    std::unique_lock lock(mutex);
    return answered.wait_for(lock, 5s, [&] { return timeline.size() >= n; });
  };
  std::atomic<int> requests{0};
  constexpr int kMaxRequests = 40000;
  const auto hammer_start = Clock::now();
  const auto hammer_deadline = hammer_start + 60s;
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      while (!stop && requests++ < kMaxRequests && Clock::now() < hammer_deadline) {
        std::optional<HttpResponse> r;
        std::string error;
        const auto sent = Clock::now();
        try {
          RawConnection c(svc.port());
          if (!c.send("GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) throw std::runtime_error("send failed");
          r = c.read_response(5s);
          if (!r) {
            // Say what happened: closed, or late (then how late, and what came).
            auto waited = ms_since(sent);
            auto late = c.unread().empty() ? c.read_response(10s) : std::nullopt;
            if (late) {
              error = "no response within " + std::to_string(waited) + " ms; it came after " +
                      std::to_string(ms_since(sent)) + " ms: " + std::to_string(late->status) + " " + late->body;
            } else {
              error = (c.wait_closed(0ms) ? "closed by the server without a (complete) response after "
                                          : "no response within ") +
                      std::to_string(ms_since(sent)) + " ms; " + std::to_string(c.unread().size()) +
                      " bytes received: " + c.unread().substr(0, 200);
            }
          }
        } catch (const std::exception& e) {
          error = e.what();
        }
        if (!error.empty()) error += " (sent " + std::to_string(ms_between(hammer_start, sent)) + " ms into the test)";
        {
          std::lock_guard lock(mutex);
          ++statuses[r ? r->status : 0];
          timeline.emplace_back(Clock::now(), r ? r->status : 0);
          answered.notify_all();
          if (!r && oddities.size() < 10) oddities.push_back(error.empty() ? "no response" : error);
          if (r && r->status != 200 && r->status != 503 && oddities.size() < 10)
            oddities.push_back(std::to_string(r->status) + " " + r->body);
          if (r && r->status == 503 &&
              r->body != R"({"status":"not ready","detail":"Application not ready: Database connection failed"})" &&
              oddities.size() < 10)
            oddities.push_back("503 " + r->body);
        }
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  // Sampler: the service's backends, as the cluster sees them (when it is up).
  std::vector<long long> samples;
  std::condition_variable sampled;  // samples grew
  std::thread sampler([&] {
    while (!stop) {
      try {
        auto n = app_backends(cluster.url(), dbname);
        std::lock_guard lock(mutex);
        samples.push_back(n);
        sampled.notify_all();
      } catch (const std::exception&) {
        // the cluster is down or starting: nothing to count
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  bool hammer_outlived_restart = false;
  auto join_all = [&] {
    hammer_outlived_restart = requests.load() < kMaxRequests && Clock::now() < hammer_deadline;
    stop = true;
    for (auto& t : clients)
      if (t.joinable()) t.join();
    if (sampler.joinable()) sampler.join();
  };

  std::optional<Clock::time_point> down, up, ready_again;
  Clock::time_point restart_began{};
  try {
    constexpr std::size_t kTraffic = 100;  // answers before the restart, and after the recovery
    REQUIRE(wait_answers(kTraffic));
    restart_began = Clock::now();
    auto restarting = cluster.restart_async();
    // "down" = the first moment an independent client is refused; "up" = the first success after that.
    auto t0 = Clock::now();
    while (!down && ms_since(t0) < 30000) {
      if (!pg_accepts(cluster.url())) down = Clock::now();
      else std::this_thread::sleep_for(5ms);
    }
    up = wait_pg_accepts(cluster.url(), 60s);
    if (up) ready_again = wait_ready_at(svc.port(), 10s);
    require_script_ok(*restarting, "restart");
    std::size_t so_far = 0;
    {
      std::lock_guard lock(mutex);
      so_far = timeline.size();
    }
    CHECK(wait_answers(so_far + kTraffic));
    // Each sample is a fresh (SCRAM) connection: on a loaded machine few may
    // have been taken so far, so give the sampler, bounded, time to take three.
    std::unique_lock lock(mutex);
    sampled.wait_for(lock, 10s, [&] { return samples.size() >= 3; });
  } catch (...) {
    join_all();
    throw;
  }
  join_all();

  REQUIRE(down);
  REQUIRE(up);
  REQUIRE(ready_again);
  const auto delay = ms_between(*up, *ready_again);
  long long max_backends = samples.empty() ? -1 : *std::max_element(samples.begin(), samples.end());
  std::string summary;
  for (auto [status, count] : statuses) {
    summary += ' ';
    summary += std::to_string(status);
    summary += "×";
    summary += std::to_string(count);
  }
  MESSAGE("restart began ", ms_between(hammer_start, restart_began), " ms into the test, down at ",
          ms_between(hammer_start, *down), " ms, up at ", ms_between(hammer_start, *up), " ms");
  MESSAGE("restart: cluster down for ", ms_between(*down, *up), " ms; /ready 200 again ", delay,
          " ms after it was up; responses:", summary, "; ", samples.size(),
          " pg_stat_activity samples, max ", max_backends, " backends (limit ", kPoolSize + kOverflow, ")");
  for (const auto& o : oddities) MESSAGE("odd response: ", o);

  CHECK(delay <= 2000);  // the issue: success again within 2 s of a restart
  CHECK(hammer_outlived_restart);  // the clients ran through the whole restart
  CHECK(statuses.count(0) == 0);  // never a dropped connection
  for (auto [status, count] : statuses) {
    const int code = status;  // clang 14 cannot capture a structured binding (CAPTURE's lambda)
    CAPTURE(code);
    CHECK((status == 200 || status == 503));
  }
  CHECK(statuses[200] > 0);
  CHECK(samples.size() >= 3);
  CHECK(max_backends >= 1);
  CHECK(max_backends <= kPoolSize + kOverflow);
  CHECK(svc.process().running());

  // Once ready again, it should stay ready. A connection attempt begun during
  // the outage can fail after the recovery and briefly mark the pool
  // unhealthy again; reported here (WARN), not failed on.
  int flaps = 0;
  for (const auto& [when, status] : timeline)
    if (when > *ready_again && status != 200) ++flaps;
  if (flaps > 0) MESSAGE(flaps, " non-200 /ready answers after /ready had turned 200 again");
  WARN(flaps == 0);

  REQUIRE(wait_ready_at(svc.port(), 2s));
  auto stats = debug_db(svc.port());
  CHECK(stats["pool"]["size"].integer() <= kPoolSize + kOverflow);
  CHECK(stats["connected"].boolean);
  // The connections the restart killed were discarded (and counted), and the
  // pool's own accounting agrees with the server's once things are quiet.
  CHECK(stats["pool"]["invalidated_total"].integer() + stats["pool"]["failed_total"].integer() >= 1);
  long long size = -1, backends = -2;
  CHECK(pool_matches_backends(svc.port(), cluster.url(), dbname, size, backends));
  CAPTURE(size);
  CAPTURE(backends);
  MESSAGE("after the restart: pool ", stats["pool"]["size"].integer(), " open, ",
          stats["pool"]["created_total"].integer(), " created, ", stats["pool"]["invalidated_total"].integer(),
          " invalidated, ", stats["pool"]["failed_total"].integer(), " failed");
}

TEST_CASE("pg_terminate_backend on the pool's idle connections: the next /ready is 200 (pre-ping replaces them)") {
  PgCluster cluster;
  const std::string dbname = url_database(cluster.url());
  RunningService svc(p2p_binary(), {{"DATABASE_URL", cluster.url()}});
  INFO("service output:\n", svc.output());
  REQUIRE(wait_ready_at(svc.port(), 5s));

  auto before = debug_db(svc.port());
  const auto created0 = before["pool"]["created_total"].integer();
  const auto invalidated0 = before["pool"]["invalidated_total"].integer();
  REQUIRE(before["pool"]["idle"].integer() >= 1);

  auto killed = terminate_app_backends(cluster.url(), dbname);
  MESSAGE("terminated ", killed, " idle backend(s)");
  REQUIRE(killed >= 1);
  long long left = -1;
  auto t0 = Clock::now();
  while ((left = app_backends(cluster.url(), dbname)) != 0 && ms_since(t0) < 5000) std::this_thread::sleep_for(20ms);
  REQUIRE(left == 0);

  // Past the 1 s readiness cache and the 1 s pre-ping threshold.
  std::this_thread::sleep_for(1200ms);
  auto r = http_get(svc.port(), "/ready");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"status":"ready","checks":{"telemetry":"ok","database":"ok","schema":"ok"}})");

  auto after = debug_db(svc.port());
  const auto created1 = after["pool"]["created_total"].integer();
  const auto invalidated1 = after["pool"]["invalidated_total"].integer();
  MESSAGE("created_total ", created0, " -> ", created1, ", invalidated_total ", invalidated0, " -> ", invalidated1);
  CHECK((invalidated1 >= invalidated0 + 1 || created1 > created0));
  CHECK(after["connected"].boolean);
  CHECK(after["pool"]["size"].integer() >= 1);
  // The replacement is real: the cluster sees it.
  long long backends = -1;
  t0 = Clock::now();
  while ((backends = app_backends(cluster.url(), dbname)) != after["pool"]["size"].integer() && ms_since(t0) < 5000)
    std::this_thread::sleep_for(50ms);
  CHECK(backends == after["pool"]["size"].integer());
}

TEST_CASE("the P2P API with its database stopped: 503 Database unavailable, the service stays up and recovers") {
  PgCluster cluster;
  ReplayExchange replay;
  RunningService service(p2p_binary(), {{"DATABASE_URL", cluster.url()},
                                        {"BINANCE_BASE_URL", replay.base_url()},
                                        {"DB_POOL_TIMEOUT", "1"},
                                        {"DB_CONNECT_TIMEOUT", "1"}});
  auto ok = http_get(service.port(), "/api/v1/offers", key_header());
  REQUIRE(ok);
  REQUIRE(ok->status == 200);
  cluster.stop();
  for (const char* target : {"/api/v1/offers", "/api/v1/payment-methods", "/api/v1/binance/offers"}) {
    INFO(target);
    auto r = http_get(service.port(), target, key_header());
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(parse_json(r->body)["detail"].text == "Database unavailable");
    CHECK(r->header("retry-after") == "1");
  }
  // The fetch reached the exchange before the store failed: nothing was half-written.
  CHECK(parse_json(replay.stats())["total"].integer() == 1);
  cluster.start();
  bool recovered = false;
  for (auto deadline = Clock::now() + 10s; !recovered && Clock::now() < deadline;) {
    auto r = http_get(service.port(), "/api/v1/binance/offers", key_header());
    recovered = r && r->status == 200;
    if (!recovered) std::this_thread::sleep_for(50ms);
  }
  CHECK(recovered);
  CHECK(service.process().running());
}

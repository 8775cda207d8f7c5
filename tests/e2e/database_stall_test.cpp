// e2e (ctest entry e2e-pg-faults): the real binary's statement path while its
// database stops answering without closing anything (a TCP relay that stops
// forwarding), and while its database restarts under load; synchronous
// telemetry and the whole shutdown against such a silent database, or
// while the migrations wait for another process's lock. Each test runs a
// private cluster (PgCluster). Only 127.0.0.1; every load is bounded.

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/json_reader.hpp"
#include "tests/e2e/pg_cluster.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/replay_exchange.hpp"
#include "tests/support/service.hpp"
#include "tests/support/tcp_relay.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string key_header() { return "X-API-Key: " + base_service_env().at("API_KEY") + "\r\n"; }

// An offer id that does not exist: every request is one primary-key read,
// answered 404 while the database answers.
constexpr const char* kMissing = "/api/v1/offers/00000000-0000-4000-8000-000000000000";

// The same URL with the relay's port.
std::string via(const std::string& url, int port) {
  const auto at = url.rfind('@');
  const auto colon = url.find(':', at);
  const auto slash = url.find('/', colon);
  return url.substr(0, colon + 1) + std::to_string(port) + url.substr(slash);
}

struct Sample {
  Clock::time_point sent, answered;
  int status;  // 0: no answer within 10 s
  std::string body;
};

// `clients` threads, each a keep-alive connection sending GET `target`
// back to back until stop, at most `limit` requests in all.
class Load {
 public:
  Load(int port, std::string target, int clients, int limit) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, port, target, limit] {
        std::unique_ptr<RawConnection> c;
        while (!stop_ && sent_.fetch_add(1) < limit) {
          Sample s{Clock::now(), {}, 0, {}};
          try {
            if (!c) c = std::make_unique<RawConnection>(port);
            std::optional<HttpResponse> r;
            if (c->send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + key_header() + "\r\n"))
              r = c->read_response(10s);
            if (r) {
              s.status = r->status;
              s.body = r->body;
              if (r->header("connection") == "close") c.reset();
            } else {
              c.reset();
            }
          } catch (const std::exception&) {
            c.reset();
          }
          s.answered = Clock::now();
          {
            std::lock_guard lock(mutex_);
            samples_.push_back(std::move(s));
          }
          answered_.notify_all();
        }
      });
    }
  }
  ~Load() { finish(); }
  std::size_t answered() {
    std::lock_guard lock(mutex_);
    return samples_.size();
  }
  // Until `n` requests in all have been answered (whatever the status); false at the timeout.
  bool wait_answered(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return answered_.wait_for(lock, timeout, [&] { return samples_.size() >= n; });
  }
  std::vector<Sample> finish() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    std::lock_guard lock(mutex_);
    return samples_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::mutex mutex_;
  std::condition_variable answered_;
  std::vector<Sample> samples_;
  std::vector<std::thread> threads_;
};

// Polls `target` every 20 ms until its status is `want`; the moment it was, or nullopt at the deadline.
std::optional<Clock::time_point> wait_status(int port, const std::string& target, int want,
                                             std::chrono::milliseconds timeout, const std::string& headers = "") {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto r = http_get(port, target, headers);
    if (r && r->status == want) return Clock::now();
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

std::string summary(const std::vector<Sample>& samples) {
  std::map<int, int> by_status;
  for (const auto& s : samples) ++by_status[s.status];
  std::string out;
  for (auto [status, n] : by_status) out.append(" ").append(std::to_string(status)).append("x").append(std::to_string(n));
  return out;
}

}  // namespace

TEST_CASE("a database that stops answering: statements fail within their deadline, 503/504, not ready, then recovery") {
  PgCluster cluster;
  TcpRelay relay(cluster.port());
  constexpr auto kDeadline = 1000ms;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", via(cluster.url(), relay.port())},
                                    {"DB_STATEMENT_DEADLINE", "1"},
                                    {"DB_CONNECT_TIMEOUT", "1"},
                                    {"DB_POOL_SIZE", "4"},
                                    {"DB_MAX_OVERFLOW", "2"},
                                    {"THREADS", "2"},
                                    {"TELEMETRY_ENABLED", "false"}});
  INFO("service output:\n", svc.output());
  REQUIRE(wait_status(svc.port(), kMissing, 404, 5s, key_header()));

  Load load(svc.port(), kMissing, 8, 200'000);
  REQUIRE(load.wait_answered(200, 5s));  // traffic on the pipelined connections
  const auto frozen_at = Clock::now();
  relay.freeze();
  // Readiness follows the database's silence; liveness does not.
  auto not_ready = wait_status(svc.port(), "/ready", 503, 5s);
  auto health = http_get(svc.port(), "/health");
  std::this_thread::sleep_for(1500ms);  // the frozen state, under load
  auto health_later = http_get(svc.port(), "/health");
  const auto resumed_at = Clock::now();
  relay.resume();
  auto serving = wait_status(svc.port(), kMissing, 404, 10s, key_header());
  auto ready = wait_status(svc.port(), "/ready", 200, 10s);
  CHECK(load.wait_answered(load.answered() + 200, 5s));  // the load goes on after the recovery
  auto samples = load.finish();
  MESSAGE("responses:", summary(samples));

  REQUIRE(not_ready);
  MESSAGE("/ready 503 ", ms_between(frozen_at, *not_ready), " ms after the freeze");
  CHECK(*not_ready - frozen_at < kDeadline + 1500ms);  // the deadline, plus the 1 s readiness cache
  REQUIRE(health);
  CHECK(health->status == 200);
  REQUIRE(health_later);
  CHECK(health_later->status == 200);
  REQUIRE(serving);
  REQUIRE(ready);
  MESSAGE("serving again ", ms_between(resumed_at, *serving), " ms after the relay resumed, ready after ",
          ms_between(resumed_at, *ready), " ms");
  CHECK(*serving - resumed_at < 5s);

  // Every answer was 404 (the database answered), or 503/504 with the one
  // error shape; nothing hung past its deadline, nothing was a 500.
  int timeouts = 0, unavailable = 0, late = 0;
  for (const auto& s : samples) {
    CAPTURE(s.status);
    CAPTURE(s.body);
    CHECK((s.status == 404 || s.status == 503 || s.status == 504));
    if (s.status == 504) {
      ++timeouts;
      CHECK(s.body == R"({"detail":"Database timeout"})");
    }
    if (s.status == 503) {
      ++unavailable;
      CHECK(s.body == R"({"detail":"Database unavailable"})");
    }
    // In flight at the freeze or sent during it: answered within the
    // deadline (plus scheduling slack), not at the resume.
    if (s.answered - s.sent > kDeadline + 700ms) ++late;
  }
  CHECK(timeouts > 0);  // the statements in flight failed with deadline_exceeded
  CHECK(late == 0);
  // No success while the database was silent.
  for (const auto& s : samples) {
    if (s.status == 404) CHECK((s.answered < frozen_at + 50ms || s.answered >= resumed_at));
  }
  auto debug = http_get(svc.port(), "/debug/db", key_header());
  REQUIRE(debug);
  auto stats = parse_json(debug->body);
  CHECK(stats["pool"]["deadline_failures_total"].integer() >= 1);
  CHECK(stats["pool"]["dead_connections_total"].integer() >= 1);
}

TEST_CASE("database restart under pipelined load: errors only during the outage, fine again within 2 s") {
  PgCluster cluster;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", cluster.url()},
                                    {"DB_POOL_SIZE", "4"},
                                    {"DB_MAX_OVERFLOW", "2"},
                                    {"THREADS", "2"},
                                    {"TELEMETRY_ENABLED", "false"}});
  INFO("service output:\n", svc.output());
  REQUIRE(wait_status(svc.port(), kMissing, 404, 5s, key_header()));

  Load load(svc.port(), kMissing, 8, 500'000);
  REQUIRE(load.wait_answered(200, 5s));  // pipelined load before the restart
  const auto began = Clock::now();
  auto restarting = cluster.restart_async();
  std::optional<Clock::time_point> down;
  while (!down && Clock::now() - began < 30s) {
    if (!pg_accepts(cluster.url())) down = Clock::now();
    else std::this_thread::sleep_for(5ms);
  }
  auto up = wait_pg_accepts(cluster.url(), 60s);
  REQUIRE(restarting->wait_exit(90s) == 0);
  std::this_thread::sleep_for(2500ms);  // past the 2 s in which it must recover
  auto samples = load.finish();
  MESSAGE("responses:", summary(samples));
  REQUIRE(down);
  REQUIRE(up);

  // Errors (503/504, never 500 or a dropped connection) only between the
  // moment the restart began and 2 s after the cluster accepted again.
  const auto recovered_by = *up + 2s;
  Clock::time_point last_error{};
  for (const auto& s : samples) {
    CAPTURE(s.status);
    CAPTURE(s.body);
    CHECK((s.status == 404 || s.status == 503 || s.status == 504));
    if (s.status != 404) {
      last_error = std::max(last_error, s.answered);
      CHECK(s.sent >= began - 100ms);
      CHECK(s.answered <= recovered_by);
    }
  }
  MESSAGE("cluster down ", ms_between(*down, *up), " ms; last error ",
          last_error == Clock::time_point{} ? 0 : ms_between(*up, last_error), " ms after it was up");
  // And it kept serving afterwards.
  int after = 0;
  for (const auto& s : samples) after += s.sent > recovered_by && s.status == 404;
  CHECK(after > 0);
}

namespace {

long long rows_where(const std::string& url, const std::string& where) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT count(*) FROM telemetry_events WHERE " + where)[0].as<long long>();
}

}  // namespace

TEST_CASE("TELEMETRY_ASYNC_WRITES=false, database silent: /livez answers within TELEMETRY_SYNC_WAIT_MS, events kept") {
  PgCluster cluster;
  TcpRelay relay(cluster.port());
  constexpr auto kSyncWait = 300ms;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", via(cluster.url(), relay.port())},
                                    {"TELEMETRY_ASYNC_WRITES", "false"},
                                    {"TELEMETRY_SYNC_WAIT_MS", "300"},
                                    {"TELEMETRY_FLUSH_MS", "600000"},
                                    // Without the bound, a response would wait for these.
                                    {"DB_STATEMENT_DEADLINE", "30"},
                                    {"DB_CONNECT_TIMEOUT", "30"}});
  INFO("service output:\n", svc.output());
  // Answering: the event is in the table before the response.
  auto first = http_get(svc.port(), "/livez", "X-Request-ID: sync-before\r\n");
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(rows_where(cluster.url(), "request_id = 'sync-before'") == 1);

  relay.freeze();
  constexpr int kStalled = 4;
  for (int i = 0; i < kStalled; ++i) {
    const auto t0 = Clock::now();
    auto r = http_get(svc.port(), "/livez", "X-Request-ID: sync-stalled-" + std::to_string(i) + "\r\n");
    const auto took = Clock::now() - t0;
    CAPTURE(i);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(took >= kSyncWait - 50ms);  // it did wait for the database, as far as the bound
    CHECK(took < kSyncWait + 700ms);
  }
  auto metrics = http_get(svc.port(), "/metrics");
  REQUIRE(metrics);
  CHECK(metric_sample(metrics->body, "telemetry_sync_wait_timeouts_total") >= kStalled);
  CHECK(metric_sample(metrics->body, "telemetry_dropped_total") == 0);

  // Kept, not dropped: written once the database answers again.
  relay.resume();
  const auto deadline = Clock::now() + 20s;
  long long written = 0;
  while ((written = rows_where(cluster.url(), "request_id LIKE 'sync-stalled-%'")) < kStalled && Clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(written == kStalled);
}

// The telemetry writer's COMMIT goes out and its answer never comes back (the
// connection hangs at that moment): committed or not, only the database
// knows, and each event must be in the table once. `reached`: the COMMIT got
// to the database (committed, answer lost); otherwise it did not (the
// transaction stays open on a backend that waits for it).
void commit_unanswered(bool reached) {
  PgCluster cluster;
  TcpRelay relay(cluster.port());
  // Armed before the writer connects: its startup packet names it.
  relay.hold_on("p2p-dashboard-telemetry", "COMMIT", reached);
  constexpr int kBatch = 10;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", via(cluster.url(), relay.port())},
                                    {"DB_STATEMENT_DEADLINE", "1"},  // the unanswered COMMIT fails after 1 s
                                    {"TELEMETRY_FLUSH_MS", "600000"},
                                    {"TELEMETRY_BATCH_MIN", std::to_string(kBatch)},
                                    {"TELEMETRY_BATCH_SIZE", std::to_string(kBatch)}});
  INFO("service output:\n", svc.output());
  int sent = 0;
  const auto send = [&](int n) {
    RawConnection c(svc.port());  // keep-alive: each event is submitted before the next request is read
    for (int i = 0; i < n; ++i, ++sent) {
      REQUIRE(c.send("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: doubt-" + std::to_string(sent) +
                     "\r\n\r\n"));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
    }
  };
  send(kBatch);  // a full batch: written at once, and its COMMIT is held
  REQUIRE(relay.wait_held(10s));
  CHECK(svc.wait_for_line("went unanswered", 10s));
  CHECK(svc.wait_for_line(reached ? "went unanswered was committed" : "went unanswered was not committed", 10s));
  send(kBatch);  // the writer goes on
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(20s) == 0);
  const auto stopped = svc.wait_for_line("telemetry writer stopped: ", 2s);
  REQUIRE(stopped);
  const auto at = stopped->find("stopped: ") + 9;
  const long long written = std::stoll(stopped->substr(at));
  CHECK(stopped->find("events written, 0 dropped") != std::string::npos);
  CHECK(rows_where(cluster.url(), "true") == written);  // what the writer counts is what the table holds
  CHECK(rows_where(cluster.url(), "request_id LIKE 'doubt-%'") == sent);
  pqxx::connection c(cluster.url());
  pqxx::nontransaction tx(c);
  CHECK(tx.exec1("SELECT count(DISTINCT request_id) FROM telemetry_events WHERE request_id LIKE 'doubt-%'")[0]
            .as<long long>() == sent);
}

TEST_CASE("telemetry: a COMMIT that reached the database and went unanswered is counted, not written twice") {
  commit_unanswered(true);
}

TEST_CASE("telemetry: a COMMIT that never reached the database: its open transaction is ended, the batch written once") {
  commit_unanswered(false);
}

TEST_CASE("SIGTERM, database silent, requests and a transaction in flight: exit within drain + grace + the margin") {
  PgCluster cluster;
  TcpRelay relay(cluster.port());
  ReplayExchange replay;
  constexpr auto kDrain = 1s;
  constexpr auto kGrace = 6s;
  // lib/: lifecycle::StopDeadline::kMargin (5 s) + EventLoops::kExitLinger (1 s).
  constexpr auto kMargin = 6s;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", via(cluster.url(), relay.port())},
                                    {"BINANCE_BASE_URL", replay.base_url()},
                                    {"SHUTDOWN_DRAIN_SECONDS", "1"},
                                    {"SHUTDOWN_GRACE_SECONDS", "6"},
                                    // Nothing gives up on its own before the shutdown's bounds do.
                                    {"DB_STATEMENT_DEADLINE", "60"},
                                    {"DB_POOL_TIMEOUT", "60"},
                                    {"DB_CONNECT_TIMEOUT", "60"},
                                    {"DB_PRE_PING", "false"},
                                    {"DB_POOL_SIZE", "4"},
                                    {"DB_MAX_OVERFLOW", "2"},
                                    {"THREADS", "2"}});  // telemetry on: its flush meets the silence too
  INFO("service output:\n", svc.output());
  REQUIRE(wait_status(svc.port(), kMissing, 404, 5s, key_header()));
  const std::string fetch = "/api/v1/binance/offers?fiat=VES&asset=USDT&tradeType=SELL";
  auto warm = http_get(svc.port(), fetch, key_header());
  REQUIRE(warm);
  REQUIRE(warm->status == 200);  // its transaction's connection is idle in the pool now

  relay.freeze();
  // In flight: statements on the shared path, and a fetch whose storing
  // transaction waits on the database (pre-ping off: it takes the idle connection).
  std::vector<std::thread> clients;
  std::atomic<int> ended{0};
  const auto request = [&](std::string target) {
    try {
      RawConnection c(svc.port());
      if (c.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + key_header() + "\r\n")) c.read_response(40s);
    } catch (const std::exception&) {
    }
    ++ended;
  };
  constexpr int kStatements = 4;
  for (int i = 0; i < kStatements; ++i) clients.emplace_back(request, std::string(kMissing));
  clients.emplace_back(request, fetch);
  const int in_flight = kStatements + 1;
  // All of them inside the service (the scrape is one more), the transaction's connection checked out.
  bool busy = false;
  for (const auto until = Clock::now() + 10s; !busy && Clock::now() < until;) {
    auto m = http_get(svc.port(), "/metrics");
    busy = m && metric_sample(m->body, "http_server_active_requests") == in_flight + 1 &&
           metric_sample(m->body, "db_client_connections_usage{pool_name=\"main\",state=\"used\"}") >= 1;
    if (!busy) std::this_thread::sleep_for(20ms);
  }
  REQUIRE(busy);

  const auto t0 = Clock::now();
  svc.signal(SIGTERM);
  const auto code = svc.wait_exit(kDrain + kGrace + kMargin + 10s);
  const auto took = Clock::now() - t0;
  MESSAGE("exited ", ms_between(t0, Clock::now()), " ms after SIGTERM; bound ",
          std::chrono::duration_cast<std::chrono::milliseconds>(kDrain + kGrace + kMargin).count(), " ms");
  CHECK(code == 0);
  CHECK(took >= kDrain + kGrace);  // the requests did hold it for the grace
  CHECK(took <= kDrain + kGrace + kMargin);
  CHECK(contains(svc.output(), "shutdown complete"));
  for (auto& t : clients) t.join();
  CHECK(ended == in_flight);
}

TEST_CASE("SIGTERM while background migrations wait for another process's lock: exit within drain + grace + the margin") {
  PgCluster cluster;
  // Refused (closed at once) until `reachable`: the pool starts without a
  // database, so the migrations go to the background retries.
  std::atomic<bool> reachable{false};
  TcpRelay relay([&]() -> std::optional<int> {
    if (!reachable) return std::nullopt;
    return cluster.port();
  });
  pqxx::connection holder(cluster.url());  // another replica, migrating for as long as it likes
  pqxx::nontransaction(holder).exec_params("SELECT pg_advisory_lock($1)", migration_lock_key());
  constexpr auto kDrain = 1s;
  constexpr auto kGrace = 2s;
  constexpr auto kMargin = 6s;  // lifecycle::StopDeadline::kMargin (5 s) + EventLoops::kExitLinger (1 s)
  RunningService svc(p2p_binary(), {{"DATABASE_URL", via(cluster.url(), relay.port())},
                                    {"SHUTDOWN_DRAIN_SECONDS", "1"},
                                    {"SHUTDOWN_GRACE_SECONDS", "2"},
                                    {"TELEMETRY_ENABLED", "false"}});
  INFO("service output:\n", svc.output());
  REQUIRE(svc.wait_for_line("schema migrations postponed", 10s));
  reachable = true;
  // The retry found the lock taken and polls for it (MIGRATIONS_LOCK_TIMEOUT).
  REQUIRE(svc.wait_for_line("another process holds the migration lock", 15s));

  const auto t0 = Clock::now();
  svc.signal(SIGTERM);
  const auto code = svc.wait_exit(kDrain + kGrace + kMargin + 5s);
  const auto took = Clock::now() - t0;
  MESSAGE("exited ", ms_between(t0, Clock::now()), " ms after SIGTERM with a lock wait in flight");
  CHECK(code == 0);
  CHECK(took <= kDrain + kGrace + kMargin);
  CHECK(contains(svc.output(), "component schema-migrations stopped"));
  CHECK_FALSE(contains(svc.output(), "schema migration loop failed"));
  // It polls with pg_try_advisory_lock, so no session of its waits on in the
  // server: once the holder lets go, nobody holds an advisory lock.
  pqxx::nontransaction(holder).exec_params("SELECT pg_advisory_unlock($1)", migration_lock_key());
  bool gone = false;
  for (const auto until = Clock::now() + 10s; !gone && Clock::now() < until;) {
    pqxx::nontransaction tx(holder);
    gone = tx.exec1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")[0].as<long long>() == 0;
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  CHECK(gone);
}

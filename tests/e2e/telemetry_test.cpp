// e2e: the telemetry writer, /metrics, structured logs and trace context of
// the real binary. libpqxx counts what reached telemetry_events; ordering
// comes from keep-alive connections (a session submits a request's event
// before it reads the next request), log lines and process exit. No sleeps.

#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/json_reader.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

constexpr const char* kApiKey = "e2e-telemetry-key-5f2b9c";

// Concatenation by append: GCC 12 warns falsely (-Wrestrict) on "lit" + std::string.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}

std::string get(std::string_view target, std::string_view extra = "") {
  std::string r = "GET ";
  r.append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n").append(extra).append("\r\n");
  return r;
}

long long count_rows(const std::string& url, const std::string& where) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT count(*) FROM telemetry_events WHERE " + where)[0].as<long long>();
}

std::string scrape(RawConnection& c) {
  REQUIRE(c.send(get("/metrics")));
  auto r = c.read_response();
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(starts_with(r->header("content-type"), "text/plain; version=0.0.4"));
  return r->body;
}

std::string password_of(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@', scheme);
  auto colon = url.find(':', scheme + 3);
  return url.substr(colon + 1, at - colon - 1);
}

// `url` with its user and password replaced.
std::string with_user(const std::string& url, const std::string& user, const std::string& password) {
  auto scheme = url.find("://") + 3;
  auto at = url.find('@', scheme);
  return url.substr(0, scheme) + user + ":" + password + url.substr(at);
}

void apply_migrations(const std::string& url) {
  auto env = merge_env(base_service_env(), {{"DATABASE_URL", url}});
  auto result = run_to_exit(p2p_binary(), {"migrate"}, env, 20s);
  INFO("migrate output:\n", result.output);
  REQUIRE(result.exit_code == 0);
}

}  // namespace

TEST_CASE("N requests then SIGTERM: exactly N request events in telemetry_events, none lost") {
  PgTestDatabase db("e2e_tel_n", admin_database_url());
  // A flush interval longer than the test: only stop() can have written them.
  RunningService svc(p2p_binary(), {{"DATABASE_URL", db.url()}, {"TELEMETRY_FLUSH_MS", "600000"},
                                    {"TELEMETRY_BATCH_SIZE", "1000"}});
  INFO("service output:\n", svc.output());
  constexpr int kRequests = 120;
  RawConnection c(svc.port());
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(c.send(get("/", cat({"X-Request-ID: n-", std::to_string(i), "\r\n"}))));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(count_rows(db.url(), "true") == 0);  // still queued
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(20s) == 0);
  CHECK(svc.wait_for_line("telemetry writer stopped: 120 events written, 0 dropped", 2s));
  CHECK(count_rows(db.url(), "kind = 'http' AND route = '/' AND status = 200 AND method = 'GET'") == kRequests);
  CHECK(count_rows(db.url(), "request_id LIKE 'n-%' AND length(trace_id) = 32") == kRequests);
}

TEST_CASE("events from every event loop: full batches go out without the flush timer, SIGTERM writes the rest") {
  PgTestDatabase db("e2e_tel_loops", admin_database_url());
  // Only a full batch (or stop) can write before the flush interval, 10 minutes.
  constexpr int kBatch = 7, kConnections = 4, kPerConnection = 40, kRequests = kConnections * kPerConnection;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", db.url()}, {"THREADS", "2"}, {"TELEMETRY_FLUSH_MS", "600000"},
                                    {"TELEMETRY_BATCH_SIZE", std::to_string(kBatch)}});
  INFO("service output:\n", svc.output());
  // Connections go to the loops round robin: events come from both threads.
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int c = 0; c < kConnections; ++c) connections.push_back(std::make_unique<RawConnection>(svc.port()));
  for (int i = 0; i < kPerConnection; ++i) {
    for (int c = 0; c < kConnections; ++c) {
      auto id = cat({"X-Request-ID: loops-", std::to_string(c), "-", std::to_string(i), "\r\n"});
      REQUIRE(connections[static_cast<std::size_t>(c)]->send(get(i % 2 == 0 ? "/" : "/ready", id)));
    }
    for (auto& c : connections) {
      auto r = c->read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
    }
  }
  // Fewer than a batch may wait for the timer; everything else is written.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  long long written = 0;
  while ((written = count_rows(db.url(), "request_id LIKE 'loops-%'")) < kRequests - (kBatch - 1) &&
         std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(written >= kRequests - (kBatch - 1));
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(20s) == 0);
  CHECK(count_rows(db.url(), "request_id LIKE 'loops-%' AND kind = 'http' AND method = 'GET' AND status = 200") ==
        kRequests);
  CHECK(count_rows(db.url(), "request_id LIKE 'loops-%' AND route = '/'") == kRequests / 2);
  CHECK(count_rows(db.url(), "request_id LIKE 'loops-%' AND route = '/ready'") == kRequests / 2);
  CHECK(count_rows(db.url(), "request_id LIKE 'loops-%' AND name IS NULL AND stored IS NULL") == kRequests);
  CHECK(svc.wait_for_line("0 dropped", 2s));
}

TEST_CASE("queue overflow while the table is locked: dropped_total is the excess, requests unaffected") {
  PgTestDatabase db("e2e_tel_full", admin_database_url());
  RunningService svc(p2p_binary(), {{"DATABASE_URL", db.url()}, {"TELEMETRY_QUEUE_CAPACITY", "5"},
                                    {"TELEMETRY_BATCH_SIZE", "1"}, {"TELEMETRY_FLUSH_MS", "1"},
                                    {"SHUTDOWN_GRACE_SECONDS", "10"}});
  INFO("service output:\n", svc.output());
  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE telemetry_events IN ACCESS EXCLUSIVE MODE");

  constexpr int kRequests = 40, kCapacity = 5;
  RawConnection c(svc.port());  // one connection: each event is submitted before the next request is read
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(c.send(get("/")));
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // The scrape closes its connection. The server offers a request's event
  // before it closes the connection, so once it is closed the scrape's event
  // has met the full queue too, however slow the machine (under ASan it was
  // sometimes offered only after the commit below freed a slot).
  REQUIRE(c.send(get("/metrics", "Connection: close\r\n")));
  auto scraped = c.read_response();
  REQUIRE(scraped);
  REQUIRE(scraped->status == 200);
  REQUIRE(c.wait_closed(5s));
  const std::string& metrics = scraped->body;
  CHECK(metric_sample(metrics, "telemetry_dropped_total") == kRequests - kCapacity);
  CHECK(metric_sample(metrics, "telemetry_queued") == kCapacity);  // bounded
  CHECK(metric_sample(metrics, "telemetry_written_total") == 0);
  // Every event is accounted for: the counters add up to what was submitted.
  CHECK(metric_sample(metrics, "telemetry_submitted_total") ==
        metric_sample(metrics, "telemetry_written_total") + metric_sample(metrics, "telemetry_dropped_total") +
            metric_sample(metrics, "telemetry_queued"));

  lock.commit();  // the database answers again: what was kept is written
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(20s) == 0);
  // The scrape's own event found the queue full too.
  CHECK(svc.wait_for_line("telemetry writer stopped: 5 events written, 36 dropped", 2s));
  CHECK(count_rows(db.url(), "route = '/'") == kCapacity);
}

TEST_CASE("TELEMETRY_BATCH_MIN queued events start a COPY, which takes all that wait up to TELEMETRY_BATCH_SIZE") {
  PgTestDatabase db("e2e_tel_batch_min", admin_database_url());
  // The flush timer never fires: only BATCH_MIN queued events (or stop) write.
  constexpr int kMin = 10, kRequests = 45;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", db.url()}, {"TELEMETRY_FLUSH_MS", "600000"},
                                    {"TELEMETRY_BATCH_SIZE", "1000"}, {"TELEMETRY_BATCH_MIN", std::to_string(kMin)}});
  INFO("service output:\n", svc.output());
  CHECK(svc.wait_for_line("a COPY of up to 1000 once 10 wait", 2s));
  RawConnection c(svc.port());
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(c.send(get("/", cat({"X-Request-ID: min-", std::to_string(i), "\r\n"}))));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // Far fewer than a BATCH_SIZE: written all the same, but for at most the
  // last BATCH_MIN - 1, which may wait for more.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  long long written = 0;
  while ((written = count_rows(db.url(), "request_id LIKE 'min-%'")) < kRequests - (kMin - 1) &&
         std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(written >= kRequests - (kMin - 1));  // with BATCH_MIN at 1000 too, none before the stop
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(20s) == 0);
  CHECK(count_rows(db.url(), "request_id LIKE 'min-%'") == kRequests);
}

TEST_CASE("rows the database rejects are dropped and counted alone; a lost connection drops nothing") {
  PgTestDatabase db("e2e_tel_poison", admin_database_url());
  // Only full batches (or stop) write: the flush timer never fires.
  constexpr int kBatch = 8;
  RunningService svc(p2p_binary(), {{"DATABASE_URL", db.url()}, {"TELEMETRY_FLUSH_MS", "600000"},
                                    {"TELEMETRY_BATCH_SIZE", std::to_string(kBatch)}});
  INFO("service output:\n", svc.output());
  {
    // Migrated (the service is ready): from now on the table refuses some rows (SQLSTATE 23514).
    pqxx::connection admin(db.url());
    pqxx::nontransaction tx(admin);
    tx.exec("ALTER TABLE telemetry_events ADD CONSTRAINT e2e_refuse CHECK (request_id NOT LIKE 'poison-%')");
  }
  RawConnection c(svc.port());  // one connection: events are submitted in request order
  const auto send = [&](const std::string& id) {
    REQUIRE(c.send(get("/", cat({"X-Request-ID: ", id, "\r\n"}))));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  };
  constexpr int kRequests = 40;
  int poisoned = 0;
  for (int i = 0; i < kRequests; ++i) {
    const bool poison = i % kBatch == 2;  // one in every batch
    poisoned += poison;
    send(cat({poison ? "poison-" : "good-", std::to_string(i)}));
  }
  // Written while it runs, batch after batch: the first batch's bad rows did
  // not stop the ones behind them (at most the last, partial batch waits).
  const auto good = kRequests - poisoned;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  long long written = 0;
  while ((written = count_rows(db.url(), "request_id LIKE 'good-%'")) < good - (kBatch - 1) &&
         std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(written >= good - (kBatch - 1));
  auto metrics = scrape(c);
  CHECK(metric_sample(metrics, "telemetry_rejected_total") >= poisoned - 1);
  CHECK(metric_sample(metrics, "telemetry_dropped_total") == metric_sample(metrics, "telemetry_rejected_total"));
  CHECK(svc.wait_for_line("telemetry: the database rejected 1 of 8 events (first: kind http, request_id poison-", 2s));

  // A connection lost is the database's trouble, not the rows': kept and written after reconnecting.
  {
    pqxx::connection admin(db.url());
    pqxx::nontransaction tx(admin);
    CHECK(tx.exec1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
                   " AND application_name = 'p2p-dashboard-telemetry'")[0]
              .as<long long>() == 1);
  }
  constexpr int kMore = 2 * kBatch;
  for (int i = 0; i < kMore; ++i) send(cat({"after-", std::to_string(i)}));
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(20s) == 0);
  CHECK(count_rows(db.url(), "request_id LIKE 'good-%'") == good);
  CHECK(count_rows(db.url(), "request_id LIKE 'after-%'") == kMore);
  CHECK(count_rows(db.url(), "request_id LIKE 'poison-%'") == 0);
  CHECK(svc.wait_for_line(cat({"events written, ", std::to_string(poisoned), " dropped"}), 2s));
}

TEST_CASE("telemetry that cannot write (no INSERT on its table): the service is ready, telemetry degraded") {
  PgTestDatabase db("e2e_tel_denied", admin_database_url());
  apply_migrations(db.url());
  const std::string role = cat({"e2e_tel_", std::to_string(::getpid())});
  const std::string role_password = cat({"role-pw-", std::to_string(::getpid())});
  {
    pqxx::connection admin(db.url());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP ROLE IF EXISTS " + role);
    tx.exec(cat({"CREATE ROLE ", role, " LOGIN PASSWORD '", role_password, "'"}));  // [a-z0-9-] only
    tx.exec("GRANT ALL ON SCHEMA public TO " + role);
    tx.exec("GRANT ALL ON ALL TABLES IN SCHEMA public TO " + role);
    tx.exec("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + role);
    tx.exec("REVOKE INSERT ON telemetry_events FROM " + role);
  }
  {
    RunningService svc(p2p_binary(), {{"DATABASE_URL", with_user(db.url(), role, role_password)}});
    INFO("service output:\n", svc.output());
    REQUIRE(svc.wait_for_line("telemetry: no INSERT privilege on table telemetry_events", 10s));
    auto ready = http_get(svc.port(), "/ready");
    REQUIRE(ready);
    CHECK(ready->status == 200);
    auto body = parse_json(ready->body);
    CHECK(body["status"].text == "ready");
    CHECK(body["checks"]["telemetry"].text == "degraded");
    CHECK(body["checks"]["database"].text == "ok");
    auto r = http_get(svc.port(), "/");
    REQUIRE(r);
    CHECK(r->status == 200);
    svc.signal(SIGTERM);
    CHECK(svc.wait_exit(10s) == 0);
  }
  db.drop();
  pqxx::connection admin(admin_database_url());
  pqxx::nontransaction tx(admin);
  tx.exec("DROP ROLE IF EXISTS " + role);
}

TEST_CASE("TELEMETRY_ASYNC_WRITES=false: the event is in the table before the response arrives") {
  PgTestDatabase db("e2e_tel_sync", admin_database_url());
  RunningService svc(p2p_binary(), {{"DATABASE_URL", db.url()}, {"TELEMETRY_ASYNC_WRITES", "false"},
                                    {"TELEMETRY_FLUSH_MS", "600000"}});
  INFO("service output:\n", svc.output());
  for (int i = 0; i < 3; ++i) {
    auto r = http_get(svc.port(), "/", cat({"X-Request-ID: sync-", std::to_string(i), "\r\n"}));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(count_rows(db.url(), cat({"request_id = 'sync-", std::to_string(i), "'"})) == 1);
  }
}

TEST_CASE("TELEMETRY_ENABLED=false: no writer, no readiness check, metrics still served") {
  RunningService svc(p2p_binary(), {{"TELEMETRY_ENABLED", "false"}});
  INFO("service output:\n", svc.output());
  auto ready = http_get(svc.port(), "/ready");
  REQUIRE(ready);
  CHECK_FALSE(parse_json(ready->body)["checks"].has("telemetry"));
  RawConnection c(svc.port());
  auto metrics = scrape(c);
  CHECK(contains(metrics, "http_server_request_duration_seconds_count{http_request_method=\"GET\","
                          "http_route=\"/ready\",http_response_status_code=\"200\"} 1\n"));
  CHECK_FALSE(contains(svc.output(), "telemetry writer started"));
}

TEST_CASE("/metrics passes promtool, counters move with requests, pool gauges match /debug/db") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());
  RawConnection c(svc.port());
  const std::string series =
      "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/\","
      "http_response_status_code=\"200\"}";
  auto before = scrape(c);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(get("/")));
    REQUIRE(c.read_response());
  }
  REQUIRE(c.send(get("/api/nothing-here")));
  REQUIRE(c.read_response());
  auto after = scrape(c);
  CHECK(metric_sample(after, series) - std::max(0.0, metric_sample(before, series)) == 3);
  CHECK(contains(after, "http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"\","
                        "http_response_status_code=\"404\",le=\"+Inf\"} 1\n"));
  CHECK_FALSE(contains(after, "nothing-here"));  // route templates only, never raw paths
  CHECK(metric_sample(after, "http_server_active_requests") == 1);  // the scrape itself
  CHECK(metric_sample(after, "process_resident_memory_bytes") > 0);
  CHECK(metric_sample(after, "process_open_fds") > 0);
  CHECK(contains(after, "build_info{service=\"p2p-dashboard\",version=\""));

  // Pool gauges and /debug/db read the same stats; nothing uses the pool in between.
  REQUIRE(c.send(get("/debug/db", "X-API-Key: e2e-test-key-0123456789\r\n")));
  auto debug = c.read_response();
  REQUIRE(debug);
  REQUIRE(debug->status == 200);
  auto pool = parse_json(debug->body)["pool"];
  auto metrics = scrape(c);
  CHECK(metric_sample(metrics, "db_client_connections_max{pool_name=\"main\"}") == pool["max"].integer());
  CHECK(metric_sample(metrics, "db_client_connections_usage{pool_name=\"main\",state=\"idle\"}") == pool["idle"].integer());
  CHECK(metric_sample(metrics, "db_client_connections_usage{pool_name=\"main\",state=\"used\"}") ==
        pool["checked_out"].integer());
  CHECK(metric_sample(metrics, "db_client_connections_pending_requests{pool_name=\"main\"}") == pool["waiting"].integer());
  CHECK(metric_sample(metrics, "db_client_connections_timeouts_total{pool_name=\"main\"}") ==
        pool["timeouts_total"].integer());
  CHECK(metric_sample(metrics, "db_client_connections_wait_time_seconds_count{pool_name=\"main\"}") ==
        pool["acquired_total"].integer());

  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    MESSAGE("promtool not found (Debian package prometheus; scripts/deps installs it): promtool check skipped");
    return;
  }
  auto file = std::filesystem::temp_directory_path() / cat({"metrics-", std::to_string(::getpid()), ".txt"});
  std::ofstream(file) << metrics;
  std::string command = "promtool check metrics < " + file.string() + " 2>&1";
  std::string output;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  int status = ::pclose(p);
  std::filesystem::remove(file);
  INFO("promtool said:\n", output);
  CHECK(status == 0);
  CHECK(output.empty());  // no lint warnings either
}

TEST_CASE("JSON logs carry request_id and trace_id; a client's traceparent reaches the access log") {
  RunningService svc(p2p_binary(), {{"LOG_FORMAT", "json"}, {"ACCESS_LOG", "true"}});
  INFO("service output:\n", svc.output());
  auto r = http_get(svc.port(), "/",
                    "X-Request-ID: trace-me-1\r\n"
                    "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n");
  REQUIRE(r);
  auto line = svc.wait_for_line("trace-me-1", 5s);
  REQUIRE(line);
  auto entry = parse_json(*line);
  CHECK(entry["request_id"].text == "trace-me-1");
  CHECK(entry["trace_id"].text == "0af7651916cd43dd8448eb211c80319c");
  CHECK(entry["route"].text == "/");
  CHECK(entry["status"].integer() == 200);
  CHECK(entry.has("time"));
  CHECK(entry["level"].text == "info");

  auto plain = http_get(svc.port(), "/health", "X-Request-ID: no-trace-2\r\n");
  REQUIRE(plain);
  auto generated = svc.wait_for_line("no-trace-2", 5s);
  REQUIRE(generated);
  CHECK(parse_json(*generated)["trace_id"].text.size() == 32);

  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(10s) == 0);
  REQUIRE(svc.wait_for_line("shutdown complete", 2s));
  auto out = svc.output();
  for (std::size_t pos = 0; pos < out.size();) {
    auto end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string one = out.substr(pos, end - pos);
    pos = end + 1;
    if (one.empty()) continue;
    CAPTURE(one);
    CHECK_NOTHROW(parse_json(one));
  }
}

TEST_CASE("secrets never reach a log line or a metric: API key and database password after a full run") {
  const std::string url = shared_database_url();
  const std::string password = password_of(url);
  REQUIRE(password.size() >= 8);
  for (std::string format : {"text", "json"}) {
    CAPTURE(format);
    RunningService svc(p2p_binary(), {{"API_KEY", kApiKey}, {"LOG_FORMAT", format}, {"ACCESS_LOG", "true"},
                                      {"LOG_LEVEL", "trace"}});
    RawConnection c(svc.port());
    std::string metrics;
    for (std::string target : {"/", "/health", "/ready?verbose", "/debug/db", "/nope", "/metrics"}) {
      REQUIRE(c.send(get(target, cat({"X-API-Key: ", kApiKey, "\r\n"}))));
      auto r = c.read_response();
      REQUIRE(r);
      if (target == "/metrics") metrics = r->body;
    }
    auto denied = http_get(svc.port(), "/debug/db", cat({"X-API-Key: wrong-", kApiKey, "\r\n"}));
    REQUIRE(denied);
    CHECK(denied->status == 401);
    svc.signal(SIGTERM);
    CHECK(svc.wait_exit(10s) == 0);
    REQUIRE(svc.wait_for_line("shutdown complete", 2s));
    auto out = svc.output();
    CHECK(contains(out, "/debug/db 200"));  // the access log did run
    CHECK_FALSE(contains(out, kApiKey));
    CHECK_FALSE(contains(out, password));
    CHECK_FALSE(contains(metrics, kApiKey));
    CHECK_FALSE(contains(metrics, password));
  }
}

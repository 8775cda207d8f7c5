// e2e (ctest entry e2e-pg-faults): the real binary's statement path while its
// database stops answering without closing anything (a TCP relay that stops
// forwarding), and while its database restarts under load. Each test runs a
// private cluster (PgCluster). Only 127.0.0.1; every load is bounded.

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/json_reader.hpp"
#include "tests/e2e/pg_cluster.hpp"
#include "tests/support/raw_http.hpp"
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
          std::lock_guard lock(mutex_);
          samples_.push_back(std::move(s));
        }
      });
    }
  }
  ~Load() { finish(); }
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
  std::this_thread::sleep_for(300ms);  // traffic on the pipelined connections
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
  std::this_thread::sleep_for(300ms);
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
  std::this_thread::sleep_for(500ms);
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

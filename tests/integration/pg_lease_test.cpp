// lib/pg's LeaseTable against the real cluster: two holders of one lease,
// renewal, expiry and takeover, release, the transaction guard. Each test
// has a table of its own; libpqxx is the oracle.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/lease.hpp"
#include "lib/pg/pool.hpp"
#include "lib/pg/transaction.hpp"
#include "tests/integration/pg_harness.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using svc::pg::LeaseTable;
using svc::pg::Pool;
using Clock = std::chrono::steady_clock;

namespace {

// The leases table of app/sql/migrations/0006_leases.sql, under a name of the test's own.
struct LeaseFixture {
  LeaseFixture(asio::io_context& ioc, const std::string& tag)
      : table("t_leases_" + tag + "_" + std::to_string(::getpid())),
        log(pgtest::logger()),
        pool(ioc, pgtest::options(tag), settings(), *log, readiness) {
    pgtest::oracle_exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                        " (name text PRIMARY KEY, holder text NOT NULL, acquired_at timestamptz NOT NULL,"
                        " renewed_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)");
  }
  ~LeaseFixture() { pgtest::oracle_exec("DROP TABLE IF EXISTS " + table); }
  static svc::pg::PoolSettings settings() {
    svc::pg::PoolSettings s;
    s.size = 2;
    s.max_overflow = 2;
    return s;
  }
  std::string table;
  std::shared_ptr<spdlog::logger> log;
  svc::lifecycle::Readiness readiness;
  Pool pool;
};

using pgtest::pause;

}  // namespace

TEST_CASE("one holder of two gets the lease, renews it, and the other takes it over only once it expires") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    LeaseFixture f(ioc, "takeover");
    co_await f.pool.start();
    LeaseTable a(f.pool, f.table, "replica-a");
    LeaseTable b(f.pool, f.table, "replica-b");

    auto first = co_await a.acquire("job", 400ms);
    CHECK(first.held);
    CHECK(first.holder == "replica-a");
    CHECK(first.remaining > 300ms);
    CHECK(first.remaining <= 400ms);
    auto refused = co_await b.acquire("job", 400ms);
    CHECK_FALSE(refused.held);
    CHECK(refused.holder == "replica-a");
    CHECK(refused.remaining > 0ms);
    const auto before = co_await a.list("job");
    auto renewed = co_await a.acquire("job", 400ms);
    CHECK(renewed.held);
    const auto after = co_await a.list("job");
    CHECK(after.at(0).acquired_at == before.at(0).acquired_at);  // a renewal keeps the tenure
    CHECK(after.at(0).renewed_at > before.at(0).renewed_at);

    // b waits out what the database says is left, then takes it.
    auto seen = co_await b.acquire("job", 400ms);
    REQUIRE_FALSE(seen.held);
    co_await pause(seen.remaining + 20ms);
    auto takeover = co_await b.acquire("job", 400ms);
    CHECK(takeover.held);
    CHECK(takeover.holder == "replica-b");
    auto lost = co_await a.acquire("job", 400ms);
    CHECK_FALSE(lost.held);
    CHECK(lost.holder == "replica-b");
    CHECK(pgtest::oracle_scalar("SELECT holder FROM " + f.table + " WHERE name = 'job'") == "replica-b");

    const auto known_a = a.known().at("job");
    CHECK(known_a.acquired_total == 1);
    CHECK(known_a.lost_total == 1);
    CHECK_FALSE(known_a.held);
    CHECK(known_a.holder == "replica-b");
    CHECK(b.known().at("job").held);
    co_await f.pool.stop();
  });
}

TEST_CASE("release hands the lease over at once; the guard fences a transaction to the holder") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    LeaseFixture f(ioc, "release");
    co_await f.pool.start();
    LeaseTable a(f.pool, f.table, "replica-a");
    LeaseTable b(f.pool, f.table, "replica-b");

    const auto a_job = co_await a.acquire("job", 60s);
    const auto a_other = co_await a.acquire("other", 60s);
    const auto b_job = co_await b.acquire("job", 60s);
    CHECK(a_job.held);
    CHECK(a_other.held);
    CHECK_FALSE(b_job.held);
    // Named vectors and arrays, not braced lists: GCC 12 cannot keep a
    // list's array alive across co_await ("array used as initializer").
    const std::vector<std::string> job{"job"}, job_and_unknown{"job", "never-taken"};
    const auto not_theirs = co_await b.release(job);
    CHECK(not_theirs == 0);
    const auto released = co_await a.release(job_and_unknown);
    CHECK(released == 1);
    const auto handed_over = co_await b.acquire("job", 60s);
    CHECK(handed_over.held);                     // no 60 s wait
    CHECK(a.known().at("job").lost_total == 0);  // given up, not lost

    const std::array<LeaseTable*, 2> both{&a, &b};
    for (auto* leases : both) {
      auto conn = co_await f.pool.acquire();
      auto tx = co_await svc::pg::Transaction::begin(*conn);
      std::vector<svc::pg::Statement> guard{leases->guard("job")};
      auto rows = co_await tx.pipeline(guard);
      CHECK(rows.at(0).rows() == (leases == &b ? 1u : 0u));
      co_await tx.commit();
    }
    // "other" is still a's; the listing says so, for every replica to see.
    const auto listed = co_await b.list();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].name == "job");
    CHECK(listed[0].holder == "replica-b");
    CHECK(listed[1].name == "other");
    CHECK(listed[1].holder == "replica-a");
    CHECK(listed[1].remaining > 50s);
    co_await f.pool.stop();
  });
}

TEST_CASE("release with hand_over_in frees the lease when the holder's next run was due, never after its ttl") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    LeaseFixture f(ioc, "handover");
    co_await f.pool.start();
    LeaseTable a(f.pool, f.table, "replica-a");
    LeaseTable b(f.pool, f.table, "replica-b");
    const auto job = co_await a.acquire("job", 600s);
    const auto brief = co_await a.acquire("brief", 2s);
    const auto soon = co_await a.acquire("soon", 600s);
    CHECK(job.held);
    CHECK(brief.held);
    CHECK(soon.held);
    const std::vector<std::string> long_ones{"job", "brief"}, soon_one{"soon"};
    const auto released = co_await a.release(long_ones, 0ms, 60s);
    CHECK(released == 2);
    const auto shortened = co_await b.acquire("job", 600s);
    CHECK_FALSE(shortened.held);
    CHECK(shortened.remaining <= 60s);
    CHECK(shortened.remaining > 50s);
    // A ttl that ends sooner stands: a release never extends a lease.
    const auto kept = co_await b.acquire("brief", 600s);
    CHECK((kept.held || kept.remaining <= 2s));

    // Not at once: a successor would run the work twice within one period.
    const auto handed = co_await a.release(soon_one, 0ms, 1s);
    CHECK(handed == 1);
    const auto early = co_await b.acquire("soon", 600s);
    CHECK_FALSE(early.held);
    CHECK(early.holder == "replica-a");
    CHECK(early.remaining <= 1s);
    co_await pause(early.remaining + 20ms);
    const auto taken = co_await b.acquire("soon", 600s);
    CHECK(taken.held);
    CHECK(a.known().at("soon").lost_total == 0);  // given up, not lost
    co_await f.pool.stop();
  });
}

TEST_CASE("a lease table needs a plain identifier; a holder id names host and process") {
  asio::io_context ioc;
  auto log = pgtest::logger();
  svc::lifecycle::Readiness readiness;
  Pool pool(ioc, pgtest::options("lease-name"), {}, *log, readiness);
  CHECK_THROWS_AS(LeaseTable(pool, "leases; DROP TABLE x", "h"), std::invalid_argument);
  CHECK_THROWS_AS(LeaseTable(pool, "Leases", "h"), std::invalid_argument);
  CHECK_NOTHROW(LeaseTable(pool, "leases_2", "h"));
  const auto id = svc::pg::lease_holder_id();
  CHECK(id.find(":" + std::to_string(::getpid()) + ":") != std::string::npos);
  CHECK(id != svc::pg::lease_holder_id());  // the random part tells restarts apart
}

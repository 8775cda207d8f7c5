// lib/pg's Pool against the real cluster: exhaustion, fairness, pre-ping,
// recycle, overflow, stats vs pg_stat_activity, cancellation, stop.
#include <doctest/doctest.h>

#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/pool.hpp"
#include "tests/integration/pg_harness.hpp"
#include "tests/support/tcp_relay.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using svc::pg::errc;
using svc::pg::PgError;
using svc::pg::Pool;
using svc::pg::PoolSettings;
using Clock = std::chrono::steady_clock;

namespace {

struct PoolFixture {
  PoolFixture(asio::io_context& ioc, PoolSettings settings, const std::string& tag)
      : options(pgtest::options(tag)), log(pgtest::logger()), pool(ioc, options, settings, *log, readiness) {}
  svc::pg::ConnectOptions options;
  std::shared_ptr<spdlog::logger> log;
  svc::lifecycle::Readiness readiness;
  Pool pool;
};

using pgtest::pause;

// Waits until the oracle sees `expected` backends (the server notices a
// closed connection asynchronously), bounded by a deadline.
int backends_eventually(const std::string& app, int expected) {
  auto deadline = Clock::now() + 5s;
  int n = pgtest::backends(app);
  while (n != expected && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    n = pgtest::backends(app);
  }
  return n;
}

PoolSettings small_pool(std::size_t size, std::size_t overflow) {
  PoolSettings s;
  s.size = size;
  s.max_overflow = overflow;
  s.acquire_timeout = 500ms;
  return s;
}

}  // namespace

TEST_CASE("an exhausted pool fails the next acquire with pool_timeout after DB_POOL_TIMEOUT, not a hang") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolFixture f(ioc, small_pool(1, 1), "exhaust");
    co_await f.pool.start();
    auto a = co_await f.pool.acquire();
    auto b = co_await f.pool.acquire();
    auto t0 = Clock::now();
    std::optional<PgError> error;
    try {
      co_await f.pool.acquire();
    } catch (const PgError& e) {
      error = e;
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    REQUIRE(error);
    CHECK(error->code_value() == errc::pool_timeout);
    CHECK(error->is_unavailable());
    CHECK(waited >= 400ms);  // 500 ms ± 20%
    CHECK(waited <= 600ms);
    auto stats = f.pool.stats();
    CHECK(stats.timeouts_total == 1);
    CHECK(stats.checked_out == 2);
    CHECK(stats.overflow == 1);
    a = svc::pg::PooledConnection();
    b = svc::pg::PooledConnection();
    co_await f.pool.stop();
  });
}

TEST_CASE("waiters are served first come, first served") {
  std::vector<int> order;
  std::mutex order_mutex;
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolSettings s = small_pool(1, 0);
    s.acquire_timeout = 5s;
    PoolFixture f(ioc, s, "fifo");
    co_await f.pool.start();
    auto held = co_await f.pool.acquire();
    int finished = 0;
    asio::steady_timer all_done(ioc, Clock::time_point::max());
    for (int i = 0; i < 5; ++i) {
      // Each waiter queues in turn: wait until the pool has counted it.
      asio::co_spawn(
          ioc,
          [&, i]() -> asio::awaitable<void> {
            auto c = co_await f.pool.acquire();
            {
              std::lock_guard lock(order_mutex);
              order.push_back(i);
            }
            co_await c->query("SELECT 1");
          },
          [&](std::exception_ptr) {
            if (++finished == 5) all_done.cancel();
          });
      while (f.pool.stats().waiting < static_cast<std::size_t>(i + 1)) co_await pause(1ms);
    }
    held = svc::pg::PooledConnection();  // release: the queue drains in order
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await f.pool.stop();
  }, 1);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("pre-ping replaces a connection killed with pg_terminate_backend") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolSettings s = small_pool(1, 0);
    s.pre_ping_after = 10ms;
    PoolFixture f(ioc, s, "preping");
    co_await f.pool.start();
    int old_pid = 0;
    {
      auto c = co_await f.pool.acquire();
      old_pid = c->backend_pid();
    }
    CHECK(pgtest::terminate_backends(f.options.application_name) == 1);
    co_await pause(50ms);  // idle longer than pre_ping_after
    auto c = co_await f.pool.acquire();
    auto r = co_await c->query("SELECT pg_backend_pid()");
    CHECK(r.int32(0, 0) != old_pid);
    auto stats = f.pool.stats();
    CHECK(stats.invalidated_total == 1);
    CHECK(stats.created_total == 2);
    c = svc::pg::PooledConnection();
    co_await f.pool.stop();
  });
}

TEST_CASE("connections older than DB_POOL_RECYCLE are replaced when returned") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolSettings s = small_pool(1, 0);
    s.recycle = 50ms;
    PoolFixture f(ioc, s, "recycle");
    co_await f.pool.start();
    int first_pid = 0;
    {
      auto c = co_await f.pool.acquire();
      first_pid = c->backend_pid();
      co_await pause(80ms);
    }  // returned past its lifetime: closed
    CHECK(f.pool.stats().size == 0);
    auto c = co_await f.pool.acquire();
    CHECK(c->backend_pid() != first_pid);
    c = svc::pg::PooledConnection();
    co_await f.pool.stop();
  });
}

TEST_CASE("overflow connections close once idle; pool stats match pg_stat_activity; stop closes everything") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolFixture f(ioc, small_pool(2, 3), "overflow");
    const auto& app = f.options.application_name;
    co_await f.pool.start();
    {
      std::vector<svc::pg::PooledConnection> held;
      for (int i = 0; i < 5; ++i) held.push_back(co_await f.pool.acquire());
      auto s = f.pool.stats();
      CHECK(s.size == 5);
      CHECK(s.overflow == 3);
      CHECK(s.checked_out == 5);
      CHECK(backends_eventually(app, 5) == 5);
    }
    auto s = f.pool.stats();
    CHECK(s.size == 2);
    CHECK(s.idle == 2);
    CHECK(s.overflow == 0);
    CHECK(backends_eventually(app, 2) == 2);
    co_await f.pool.stop();
    CHECK(f.pool.stats().size == 0);
    CHECK(backends_eventually(app, 0) == 0);
    std::optional<PgError> closed;
    try {
      co_await f.pool.acquire();
    } catch (const PgError& e) {
      closed = e;
    }
    REQUIRE(closed);
    CHECK(closed->code_value() == errc::pool_closed);
  });
}

TEST_CASE("a cancelled query's connection is recovered by the pool, not returned in an unknown state") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolFixture f(ioc, small_pool(1, 0), "recover");
    co_await f.pool.start();
    int pid = 0;
    {
      auto c = co_await f.pool.acquire();
      pid = c->backend_pid();
      co_await c->execute("BEGIN");
      asio::steady_timer timer(ioc, 100ms);
      co_await (c->query("SELECT pg_sleep(10)") || timer.async_wait(asio::use_awaitable));
      CHECK(c->interrupted());
    }
    // The next acquire waits for recovery (pool size 1) and gets a clean connection.
    auto t0 = Clock::now();
    auto c = co_await f.pool.acquire();
    CHECK(Clock::now() - t0 < 1s);
    CHECK(c->backend_pid() == pid);
    CHECK(c->transaction_status() == svc::pg::Connection::TxStatus::idle);
    auto r = co_await c->query("SELECT 1");
    CHECK(r.int32(0, 0) == 1);
    CHECK(f.pool.stats().invalidated_total == 0);
    c = svc::pg::PooledConnection();
    co_await f.pool.stop();
  });
}

TEST_CASE("a cancelled acquire leaves the pool usable and its slot to the next caller") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolSettings s = small_pool(1, 0);
    s.acquire_timeout = 5s;
    PoolFixture f(ioc, s, "cancel-acquire");
    co_await f.pool.start();
    {
      auto held = co_await f.pool.acquire();
      asio::steady_timer timer(ioc, 50ms);
      auto which = co_await (f.pool.acquire() || timer.async_wait(asio::use_awaitable));
      CHECK(which.index() == 1);
      CHECK(f.pool.stats().waiting == 0);
    }
    auto c = co_await f.pool.acquire();
    CHECK(c->healthy());
    c = svc::pg::PooledConnection();
    co_await f.pool.stop();
  });
}

TEST_CASE("an acquire cancelled while it opens a connection is no database failure and keeps no slot") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolFixture f(ioc, small_pool(2, 0), "cancel-connect");
    co_await f.pool.start();
    auto held = co_await f.pool.acquire();  // the second acquire must open a connection
    // 1 ms: well inside the SCRAM handshake of a new connection.
    asio::steady_timer timer(ioc, 1ms);
    auto which = co_await (f.pool.acquire() || timer.async_wait(asio::use_awaitable));
    const bool cancelled = which.index() == 1;
    MESSAGE(std::string(cancelled ? "cancelled mid-connect" : "the connection opened within 1 ms"));
    auto stats = f.pool.stats();
    CHECK(stats.failed_total == 0);  // a client leaving says nothing about the database
    CHECK(stats.healthy);
    CHECK(stats.connecting == 0);
    auto health = co_await f.pool.check_health();
    CHECK(health.status == svc::lifecycle::CheckResult::Status::ok);
    auto second = co_await f.pool.acquire();  // the slot came back
    CHECK(second->healthy());
    second = svc::pg::PooledConnection();
    held = svc::pg::PooledConnection();
    co_await f.pool.stop();
  });
}

TEST_CASE("with the database down: start succeeds unless fail_fast, readiness fails, acquire fails fast") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    PoolSettings s = small_pool(1, 0);
    s.connect_timeout = 1s;
    auto log = pgtest::logger();
    svc::lifecycle::Readiness readiness;
    svc::pg::ConnectOptions o;
    o.conninfo = "host=127.0.0.1 port=1 user=nobody dbname=none";
    Pool pool(ioc, o, s, *log, readiness);
    co_await pool.start();  // does not throw
    auto health = co_await pool.check_health();
    CHECK(health.status == svc::lifecycle::CheckResult::Status::failed);
    CHECK(health.detail == "Database connection failed");
    auto t0 = Clock::now();
    std::optional<PgError> error;
    try {
      co_await pool.acquire();
    } catch (const PgError& e) {
      error = e;
    }
    REQUIRE(error);
    CHECK(error->code_value() == errc::connect_failed);
    CHECK(Clock::now() - t0 < 500ms);
    CHECK(pool.stats().failed_total >= 2);
    co_await pool.stop();

    s.fail_fast = true;
    Pool strict(ioc, o, s, *log, readiness);
    std::optional<PgError> fatal;
    try {
      co_await strict.start();
    } catch (const PgError& e) {
      fatal = e;
    }
    REQUIRE(fatal);
    CHECK(std::string(fatal->what()).find("DB_FAIL_FAST") != std::string::npos);
    co_await strict.stop();
  });
}

TEST_CASE("a connection that answers SQLSTATE 25006 or 57P01 is discarded, not reused") {
  // 25006 read_only_sql_transaction: we reached a standby after a failover;
  // 57P01 admin_shutdown: the server is going away. Raised here on purpose.
  for (const char* sqlstate : {"25006", "57P01"}) {
    CAPTURE(sqlstate);
    pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
      PoolFixture f(ioc, small_pool(1, 0), std::string("dead_") + sqlstate);
      co_await f.pool.start();
      int old_pid = 0;
      std::optional<PgError> failure;
      {
        auto c = co_await f.pool.acquire();
        old_pid = c->backend_pid();
        try {
          co_await c->execute(std::string("DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '") + sqlstate +
                              "'; END $$");
        } catch (const PgError& e) {
          failure = e;
        }
      }
      REQUIRE(failure);
      CHECK(failure->sqlstate() == sqlstate);
      CHECK(failure->is_unavailable());  // handlers answer 503 + Retry-After
      auto c = co_await f.pool.acquire();
      auto r = co_await c->query("SELECT pg_backend_pid()");
      CHECK(r.int32(0, 0) != old_pid);
      auto stats = f.pool.stats();
      CHECK(stats.invalidated_total == 1);
      CHECK(stats.created_total == 2);
      CHECK(pgtest::backends(f.options.application_name) == 1);  // the old one was closed
      c = svc::pg::PooledConnection();
      co_await f.pool.stop();
    }, 1);
  }
}

namespace {
// The harness's conninfo with the relay's port instead of the cluster's.
svc::pg::ConnectOptions through(const testsupport::TcpRelay& relay, const std::string& tag) {
  auto o = pgtest::options(tag);
  const auto at = o.conninfo.find("port='");
  REQUIRE(at != std::string::npos);
  const auto end = o.conninfo.find('\'', at + 6);
  o.conninfo.replace(at, end + 1 - at, "port='" + std::to_string(relay.port()) + "'");
  return o;
}
int conninfo_port() {
  const auto ci = pgtest::conninfo();
  const auto at = ci.find("port='") + 6;
  return std::stoi(ci.substr(at, ci.find('\'', at) - at));
}
}  // namespace

TEST_CASE("an acquire honours DB_POOL_TIMEOUT in total, its pre-ping of a silent database included") {
  testsupport::TcpRelay relay(conninfo_port());
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto log = pgtest::logger();
    svc::lifecycle::Readiness readiness;
    PoolSettings s = small_pool(1, 0);
    s.acquire_timeout = 400ms;
    Pool pool(ioc, through(relay, "preping-silent"), s, *log, readiness);
    co_await pool.start();
    { auto c = co_await pool.acquire(); }
    co_await pause(1100ms);  // idle past the pre-ping threshold
    relay.freeze();
    const auto t0 = Clock::now();
    std::optional<PgError> error;
    try {
      co_await pool.acquire();
    } catch (const PgError& e) {
      error = e;
    }
    const auto waited = Clock::now() - t0;
    relay.resume();
    REQUIRE(error);
    CHECK(error->code_value() == errc::pool_timeout);
    CHECK(waited >= 350ms);
    CHECK(waited < 900ms);
    co_await pool.stop();
  });
}

TEST_CASE("a checked-out connection's statement honours DB_STATEMENT_DEADLINE and is then replaced, not recovered") {
  testsupport::TcpRelay relay(conninfo_port());
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto log = pgtest::logger();
    svc::lifecycle::Readiness readiness;
    PoolSettings s = small_pool(1, 0);
    s.statement_deadline = 300ms;
    s.acquire_timeout = 2s;
    Pool pool(ioc, through(relay, "exclusive-deadline"), s, *log, readiness);
    co_await pool.start();
    std::optional<PgError> error;
    Clock::duration took{};
    int old_pid = 0;
    {
      auto c = co_await pool.acquire();
      old_pid = c->backend_pid();
      co_await c->execute("BEGIN");
      relay.freeze();
      const auto t0 = Clock::now();
      try {
        co_await c->query("SELECT 1");
      } catch (const PgError& e) {
        error = e;
      }
      took = Clock::now() - t0;
      CHECK(c->timed_out());
    }
    relay.resume();
    REQUIRE(error);
    CHECK(error->code_value() == errc::timeout);
    CHECK(error->is_timeout());
    CHECK(took >= 250ms);
    CHECK(took < 800ms);
    auto c = co_await pool.acquire();
    CHECK(c->backend_pid() != old_pid);  // a new connection, not the stalled one cancelled
    CHECK(c->transaction_status() == svc::pg::Connection::TxStatus::idle);
    CHECK(pool.stats().invalidated_total >= 1);
    c = svc::pg::PooledConnection();
    co_await pool.stop();
  });
}

namespace {

// An acquire that a test cancels: its own coroutine, its own signal.
struct Attempt {
  asio::cancellation_signal signal;
  bool done = false;
  std::optional<errc> error;  // set when it threw a PgError
  svc::pg::PooledConnection conn;
};

asio::awaitable<void> acquire_into(Pool& pool, Attempt& attempt) {
  try {
    attempt.conn = co_await pool.acquire();
  } catch (const PgError& e) {
    attempt.error = e.code_value();
  }
}

// Cancelled first (its awaits told not to throw), then acquiring: the
// acquire must refuse at once rather than take anything.
asio::awaitable<void> acquire_once_cancelled(Pool& pool, Attempt& attempt) {
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer wait(co_await asio::this_coro::executor, 30s);
  co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  co_await acquire_into(pool, attempt);
}

void start(asio::io_context& ioc, Pool& pool, Attempt& attempt) {
  asio::co_spawn(ioc, acquire_into(pool, attempt),
                 asio::bind_cancellation_slot(attempt.signal.slot(), [&attempt](std::exception_ptr) { attempt.done = true; }));
}

// Polls `ready` every millisecond for up to 5 s; false if it never held.
template <typename Pred>
asio::awaitable<bool> eventually(Pred ready) {
  const auto deadline = Clock::now() + 5s;
  while (!ready()) {
    if (Clock::now() > deadline) co_return false;
    co_await pause(1ms);
  }
  co_return true;
}

template <typename Pred>
asio::awaitable<void> require_eventually(Pred ready) {
  const bool held = co_await eventually(std::move(ready));
  REQUIRE(held);
}

// Nothing lent, opening or queued; every open connection idle; and all of
// size + overflow can be checked out at once (no slot leaked).
asio::awaitable<void> check_baseline(Pool& pool) {
  auto settled = co_await eventually([&] {
    const auto s = pool.stats();
    return s.checked_out == 0 && s.connecting == 0 && s.waiting == 0 && s.size == s.idle;
  });
  const auto s = pool.stats();
  CAPTURE(s.checked_out);
  CAPTURE(s.connecting);
  CAPTURE(s.waiting);
  CAPTURE(s.size);
  CAPTURE(s.idle);
  CHECK(settled);
  std::vector<svc::pg::PooledConnection> all;
  for (std::size_t i = 0; i < s.max; ++i) {
    auto c = co_await pool.acquire();
    all.push_back(std::move(c));
  }
  CHECK(pool.stats().checked_out == s.max);
}

}  // namespace

TEST_CASE("an acquire cancelled at each suspension point gives back its slot, its connection and its place") {
  testsupport::TcpRelay relay(conninfo_port());
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto log = pgtest::logger();
    svc::lifecycle::Readiness readiness;
    PoolSettings s = small_pool(2, 0);
    s.acquire_timeout = 30s;  // only the cancellation ends an acquire here
    s.pre_ping_after = 50ms;
    Pool pool(ioc, through(relay, "cancel-points"), s, *log, readiness);
    co_await pool.start();

    SUBCASE("waiting") {
      auto a = co_await pool.acquire();
      auto b = co_await pool.acquire();
      Attempt w;
      start(ioc, pool, w);
      co_await require_eventually([&] { return pool.stats().waiting == 1; });
      w.signal.emit(asio::cancellation_type::terminal);
      co_await require_eventually([&] { return w.done; });
      CHECK(w.error == errc::cancelled);
      CHECK(pool.stats().waiting == 0);
      a = {};
      b = {};
    }
    SUBCASE("connecting") {
      auto held = co_await pool.acquire();  // the idle one: the next acquire opens a connection
      relay.freeze();
      const auto failed = pool.stats().failed_total;
      Attempt w;
      start(ioc, pool, w);
      co_await require_eventually([&] { return pool.stats().connecting == 1; });
      w.signal.emit(asio::cancellation_type::terminal);
      co_await require_eventually([&] { return w.done; });
      relay.resume();
      CHECK(w.error == errc::cancelled);
      CHECK(pool.stats().connecting == 0);
      CHECK(pool.stats().failed_total == failed);  // a caller leaving says nothing about the database
      CHECK(pool.stats().healthy);
      held = {};
    }
    SUBCASE("pre-ping") {
      int pid = 0;
      {
        auto first = co_await pool.acquire();
        pid = first->backend_pid();
      }
      co_await pause(100ms);  // idle past pre_ping_after: the next acquire pings it
      relay.freeze();
      Attempt w;
      start(ioc, pool, w);
      // Lent, and (one thread: it ran until it suspended) its ping on the frozen wire.
      co_await require_eventually([&] { return pool.stats().checked_out == 1; });
      w.signal.emit(asio::cancellation_type::terminal);
      co_await require_eventually([&] { return w.done; });
      relay.resume();
      CHECK(w.error == errc::cancelled);
      CHECK_FALSE(w.conn);
      // Recovered (the cut-short ping drained), not discarded.
      co_await require_eventually([&] { return pool.stats().idle == 1 && pool.stats().checked_out == 0; });
      CHECK(pool.stats().invalidated_total == 0);
      auto again = co_await pool.acquire();
      CHECK(again->backend_pid() == pid);
    }
    SUBCASE("hand-off of a connection") {
      auto a = co_await pool.acquire();
      auto b = co_await pool.acquire();
      Attempt w;
      start(ioc, pool, w);
      co_await require_eventually([&] { return pool.stats().waiting == 1; });
      a = {};  // handed to the waiter, which has not run yet: cancelled before it does
      w.signal.emit(asio::cancellation_type::terminal);
      co_await require_eventually([&] { return w.done; });
      // Woken first, cancelled before it ran: it leaves, the connection stays the pool's.
      CHECK(w.error == errc::cancelled);
      CHECK_FALSE(w.conn);
      CHECK(pool.stats().checked_out == 1);
      b = {};
    }
    SUBCASE("hand-off of a slot") {
      auto a = co_await pool.acquire();
      auto b = co_await pool.acquire();
      Attempt w;
      start(ioc, pool, w);
      co_await require_eventually([&] { return pool.stats().waiting == 1; });
      a.invalidate();
      a = {};  // its slot goes to the waiter, cancelled before it opens anything
      w.signal.emit(asio::cancellation_type::terminal);
      co_await require_eventually([&] { return w.done; });
      CHECK(w.error == errc::cancelled);
      CHECK_FALSE(w.conn);
      CHECK(pool.stats().connecting == 0);
      b = {};
    }
    SUBCASE("cancelled before it starts") {
      Attempt w;
      asio::co_spawn(ioc, acquire_once_cancelled(pool, w),
                     asio::bind_cancellation_slot(w.signal.slot(), [&w](std::exception_ptr) { w.done = true; }));
      co_await pause(10ms);  // it waits for its cancellation
      w.signal.emit(asio::cancellation_type::terminal);
      co_await require_eventually([&] { return w.done; });
      CHECK(w.error == errc::cancelled);
      CHECK_FALSE(w.conn);
    }
    co_await check_baseline(pool);
    co_await pool.stop();
  }, 1);
}

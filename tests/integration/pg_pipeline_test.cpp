// The pool's shared statement path (Pool::query over pipelined connections)
// against the real cluster; libpqxx is the oracle. Isolation, deadlines,
// cancellation, and that a statement resumes on its caller's event loop.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include "lib/lifecycle/event_loops.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/pool.hpp"
#include "tests/integration/pg_harness.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using svc::pg::errc;
using svc::pg::Params;
using svc::pg::PgError;
using svc::pg::Pool;
using svc::pg::PoolSettings;
using svc::pg::StatementOptions;
using Clock = std::chrono::steady_clock;

namespace {

// A pool whose lanes are `loops` event loops (one thread each), as in the
// service; `body` runs on loop 0 and gets every loop's executor.
template <typename Body>
void run_on_loops(unsigned loops, PoolSettings settings, const std::string& tag, Body body) {
  asio::io_context main(1);
  svc::lifecycle::EventLoops event_loops(main, loops);
  auto options = pgtest::options(tag);
  auto log = pgtest::logger();
  svc::lifecycle::Readiness readiness;
  Pool pool(main, options, settings, *log, readiness, event_loops.executors());
  std::exception_ptr failure;
  asio::co_spawn(
      main,
      [&]() -> asio::awaitable<void> {
        co_await pool.start();
        std::exception_ptr inner;
        try {
          co_await body(pool, event_loops.executors(), options.application_name);
        } catch (...) {
          inner = std::current_exception();
        }
        co_await pool.stop();
        if (inner) std::rethrow_exception(inner);
      },
      [&](std::exception_ptr e) { failure = e; });
  event_loops.run();
  if (failure) std::rethrow_exception(failure);
}

PoolSettings pipelined(std::size_t connections_per_loop, std::size_t depth = 64) {
  PoolSettings s;
  s.size = 4;
  s.max_overflow = 4;
  s.pipeline_connections = connections_per_loop;
  s.pipeline_depth = depth;
  s.acquire_timeout = 2s;
  return s;
}

// Runs `make(i)` for i in [0, n) as n concurrent coroutines spread over
// `loops` (round robin) and waits for all.
template <typename Make>
asio::awaitable<void> concurrently(const std::vector<asio::any_io_executor>& loops, int n, Make make) {
  std::atomic<int> left{n};
  auto home = co_await asio::this_coro::executor;
  asio::steady_timer done(home, Clock::time_point::max());
  std::mutex failure_mutex;
  std::exception_ptr failure;  // a test bug, not an expected failure
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(loops[static_cast<std::size_t>(i) % loops.size()], make(i), [&](std::exception_ptr e) {
      if (e) {
        std::lock_guard lock(failure_mutex);
        failure = e;
      }
      if (left.fetch_sub(1) == 1) asio::post(home, [&] { done.cancel(); });
    });
  }
  while (left.load() > 0) co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (failure) std::rethrow_exception(failure);
}

std::string table_name(const std::string& stem) {
  return stem + "_" + std::to_string(::getpid());
}

}  // namespace

TEST_CASE("10,000 statements from 256 callers share 2 connections, and every caller gets its own rows") {
  const auto table = table_name("pipe_rows");
  pgtest::oracle_exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                      " (id int PRIMARY KEY, v text NOT NULL); INSERT INTO " + table +
                      " SELECT g, md5(g::text) FROM generate_series(1, 10000) g");
  std::map<int, std::string> expected;
  {
    pqxx::connection c(pgtest::conninfo());
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec("SELECT id, v FROM " + table)) expected[row[0].as<int>()] = row[1].as<std::string>();
  }
  REQUIRE(expected.size() == 10000);

  for (const bool batch_reads : {true, false}) {
    CAPTURE(batch_reads);
    auto settings = pipelined(1);
    settings.pipeline_batch_reads = batch_reads;
    std::atomic<int> wrong{0}, failed{0}, answered{0};
    std::size_t pipelined = 0;
    std::set<int> pids;
    std::mutex pids_mutex;
    run_on_loops(2, settings, "rows", [&](Pool& pool, const auto& loops, const std::string&) -> asio::awaitable<void> {
      const std::string sql = "SELECT id, v, pg_backend_pid() FROM " + table + " WHERE id = $1";
      co_await concurrently(loops, 256, [&](int caller) -> asio::awaitable<void> {
        // Caller c reads ids c+1, c+257, ...: 10,000 statements in all.
        for (int id = caller + 1; id <= 10000; id += 256) {
          try {
            auto r = co_await pool.query(sql, Params(id), {.read_only = true});
            if (r.rows() != 1 || r.int32(0, 0) != id || r.text(0, 1) != expected.at(id)) ++wrong;
            std::lock_guard lock(pids_mutex);
            pids.insert(r.int32(0, 2));
          } catch (const PgError&) {
            ++failed;
          }
          ++answered;
        }
      });
      pipelined = pool.stats().pipelined;
    });
    CHECK(answered.load() == 10000);
    CHECK(wrong.load() == 0);
    CHECK(failed.load() == 0);
    CHECK(pipelined == 2);  // one per loop, as configured
    CHECK(pids.size() == 2);  // every statement ran on one of those two backends
  }
  pgtest::oracle_exec("DROP TABLE " + table);
}

TEST_CASE("every tenth statement fails: exactly those callers fail, for reads sharing a sync and for writes") {
  for (const bool batch_reads : {true, false}) {
    CAPTURE(batch_reads);
    auto settings = pipelined(1, 32);
    settings.pipeline_batch_reads = batch_reads;
    std::vector<int> outcome(2000, -1);  // 1 ok with the right value, 0 failed with the expected error, 2 wrong
    run_on_loops(1, settings, "tenth", [&](Pool& pool, const auto& loops, const std::string&) -> asio::awaitable<void> {
      co_await concurrently(loops, 2000, [&](int i) -> asio::awaitable<void> {
        // i % 10 == 0 divides by zero.
        try {
          auto r = co_await pool.query("SELECT $1::int * 10 / ($1::int % 10)", Params(i), {.read_only = true});
          outcome[static_cast<std::size_t>(i)] = (i % 10 != 0 && r.int32(0, 0) == i * 10 / (i % 10)) ? 1 : 2;
        } catch (const PgError& e) {
          outcome[static_cast<std::size_t>(i)] = (i % 10 == 0 && e.sqlstate() == "22012") ? 0 : 2;
        }
      });
    });
    int right = 0;
    for (int i = 0; i < 2000; ++i) right += outcome[static_cast<std::size_t>(i)] == (i % 10 == 0 ? 0 : 1);
    CHECK(right == 2000);
  }

  // Writes: every tenth insert repeats a key. Only those fail, and the oracle
  // finds exactly the others: a failed write takes no other write with it.
  const auto table = table_name("pipe_writes");
  pgtest::oracle_exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (k int PRIMARY KEY, i int)");
  pgtest::oracle_exec("INSERT INTO " + table + " SELECT g, -1 FROM generate_series(0, 1990, 10) g");
  std::atomic<int> unexpected{0}, violations{0};
  run_on_loops(1, pipelined(1, 32), "writes", [&](Pool& pool, const auto& loops, const std::string&) -> asio::awaitable<void> {
    co_await concurrently(loops, 2000, [&](int i) -> asio::awaitable<void> {
      try {
        auto r = co_await pool.query("INSERT INTO " + table + " (k, i) VALUES ($1, $1)", Params(i));
        if (i % 10 == 0 || r.affected() != 1) ++unexpected;
      } catch (const PgError& e) {
        if (i % 10 == 0 && e.is_unique_violation()) {
          ++violations;
        } else {
          ++unexpected;
        }
      }
    });
  });
  CHECK(unexpected.load() == 0);
  CHECK(violations.load() == 200);
  CHECK(pgtest::oracle_scalar("SELECT count(*) FROM " + table + " WHERE i = k") == "1800");
  CHECK(pgtest::oracle_scalar("SELECT count(*) FROM " + table + " WHERE i = -1") == "200");
  pgtest::oracle_exec("DROP TABLE " + table);
}

TEST_CASE("a caller cancelled in a pipeline of pg_sleep returns at once; the others get their own results") {
  run_on_loops(1, pipelined(1), "cancel", [&](Pool& pool, const auto& loops, const std::string&) -> asio::awaitable<void> {
    asio::cancellation_signal cancel;
    std::vector<int> values(5, -1);
    Clock::duration cancelled_after{};
    std::optional<std::string> cancelled_error;
    auto started = Clock::now();
    std::atomic<int> left{5};
    asio::steady_timer done(loops[0], Clock::time_point::max());
    // Parameters, not captures: a coroutine lambda's captures die with the
    // lambda object, its parameters live in the coroutine frame.
    auto task = [&](int i) -> asio::awaitable<void> {
      try {
        auto r = co_await pool.query("SELECT $1::int, pg_sleep(0.15)", Params(i), {.read_only = (i % 2) == 0});
        values[static_cast<std::size_t>(i)] = r.int32(0, 0);
      } catch (const PgError& e) {
        if (i == 2 && e.code_value() == errc::cancelled) cancelled_error = e.what();
        if (i == 2) cancelled_after = Clock::now() - started;
      } catch (const boost::system::system_error& e) {
        // Asio's own report of a cancelled coroutine (throw_if_cancelled).
        if (i == 2 && e.code() == asio::error::operation_aborted) cancelled_error = e.what();
        if (i == 2) cancelled_after = Clock::now() - started;
      }
    };
    auto finish = [&](std::exception_ptr) {
      if (--left == 0) done.cancel();
    };
    for (int i = 0; i < 5; ++i) {
      if (i == 2) {
        asio::co_spawn(loops[0], task(i), asio::bind_cancellation_slot(cancel.slot(), finish));
      } else {
        asio::co_spawn(loops[0], task(i), finish);
      }
    }
    // Statement 2 is queued behind two others (0.3 s of sleeping): cancel it
    // while it waits for them.
    asio::steady_timer t(loops[0], 50ms);
    co_await t.async_wait(asio::use_awaitable);
    const auto cancel_at = Clock::now() - started;
    cancel.emit(asio::cancellation_type::terminal);
    while (left.load() > 0) co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
    REQUIRE(cancelled_error);
    CHECK(cancelled_after - cancel_at < 100ms);
    CHECK(values == std::vector<int>{0, 1, -1, 3, 4});
    // The connection was not cancelled or replaced.
    CHECK(pool.stats().dead_connections_total == 0);
    auto r = co_await pool.query("SELECT 42");
    CHECK(r.int32(0, 0) == 42);
  });
}

TEST_CASE("a statement resumes on its caller's event loop, and each loop has its own connection") {
  std::atomic<int> moved{0};
  std::set<int> pids;
  std::mutex pids_mutex;
  run_on_loops(2, pipelined(1), "affinity", [&](Pool& pool, const auto& loops, const std::string&) -> asio::awaitable<void> {
    co_await concurrently(loops, 64, [&](int) -> asio::awaitable<void> {
      for (int k = 0; k < 20; ++k) {
        const auto before = std::this_thread::get_id();
        auto r = co_await pool.query("SELECT pg_backend_pid()", {}, {.read_only = k % 2 == 0});
        if (std::this_thread::get_id() != before) ++moved;
        std::lock_guard lock(pids_mutex);
        pids.insert(r.int32(0, 0));
      }
    });
  });
  CHECK(moved.load() == 0);
  CHECK(pids.size() == 2);
}

TEST_CASE("a connection whose oldest statement passes its deadline fails all its statements at once and is replaced") {
  run_on_loops(1, pipelined(1), "deadline", [&](Pool& pool, const auto& loops, const std::string& app) -> asio::awaitable<void> {
    auto first = co_await pool.query("SELECT pg_backend_pid()");
    const int pid = first.int32(0, 0);
    std::vector<std::optional<PgError>> errors(4);
    std::vector<Clock::duration> took(4);
    co_await concurrently(loops, 4, [&](int i) -> asio::awaitable<void> {
      const auto t0 = Clock::now();
      try {
        // The first sleeps past its deadline; the three behind it have
        // longer deadlines of their own but share its connection.
        co_await pool.query("SELECT pg_sleep($1)", Params(i == 0 ? 5.0 : 0.01),
                            {.deadline = i == 0 ? 300ms : 2000ms});
      } catch (const PgError& e) {
        errors[static_cast<std::size_t>(i)] = e;
      }
      took[static_cast<std::size_t>(i)] = Clock::now() - t0;
    });
    for (std::size_t i = 0; i < 4; ++i) {
      CAPTURE(i);
      REQUIRE(errors[i]);
      CHECK(errors[i]->code_value() == errc::deadline_exceeded);
      CHECK(errors[i]->is_timeout());
      CHECK(took[i] >= 290ms);
      CHECK(took[i] < 800ms);
    }
    auto s = pool.stats();
    CHECK(s.dead_connections_total == 1);
    CHECK(s.deadline_failures_total == 4);
    // The next statement runs on a new backend.
    auto again = co_await pool.query("SELECT pg_backend_pid()");
    CHECK(again.int32(0, 0) != pid);
    // The old backend is gone (the server notices the closed socket).
    auto gone = Clock::now() + 10s;
    std::string old_alive = "1";
    while (old_alive != "0" && Clock::now() < gone) {
      old_alive = pgtest::oracle_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid));
      asio::steady_timer t(loops[0], 20ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    CHECK(old_alive == "0");
    (void)app;
  });
}

TEST_CASE("a statement waiting for room past its deadline fails alone; the pool keeps within size + overflow") {
  auto settings = pipelined(1, 1);  // one statement in flight per connection
  settings.size = 2;
  settings.max_overflow = 0;
  run_on_loops(1, settings, "room", [&](Pool& pool, const auto& loops, const std::string& app) -> asio::awaitable<void> {
    std::optional<PgError> late;
    int slow = -1;
    co_await concurrently(loops, 2, [&](int i) -> asio::awaitable<void> {
      try {
        if (i == 0) {
          auto r = co_await pool.query("SELECT 7 FROM pg_sleep(0.4)", {}, {.deadline = 3s});
          slow = r.int32(0, 0);
        } else {
          co_await asio::steady_timer(loops[0], 50ms).async_wait(asio::use_awaitable);
          co_await pool.query("SELECT 1", {}, {.deadline = 100ms});
        }
      } catch (const PgError& e) {
        late = e;
      }
    });
    CHECK(slow == 7);
    REQUIRE(late);
    CHECK(late->code_value() == errc::deadline_exceeded);
    CHECK(pool.stats().dead_connections_total == 0);
    CHECK(pool.stats().size <= 2);
    CHECK(pgtest::backends(app) <= 2);
  });
}

TEST_CASE("a statement from a thread outside the pool's loops hops to a lane and back") {
  run_on_loops(1, pipelined(1), "hop", [&](Pool& pool, const auto&, const std::string&) -> asio::awaitable<void> {
    asio::io_context other(1);
    auto work = asio::make_work_guard(other);
    std::atomic<bool> done{false};
    std::optional<int> value;
    std::thread::id resumed_on, other_thread;
    asio::co_spawn(other, [&]() -> asio::awaitable<void> {
      auto r = co_await pool.query("SELECT 5");
      value = r.int32(0, 0);
      resumed_on = std::this_thread::get_id();
      work.reset();
      done = true;
    }, asio::detached);
    std::thread t([&] {
      other_thread = std::this_thread::get_id();
      other.run();
    });
    // Wait for it without blocking this loop.
    while (!done) co_await asio::steady_timer(co_await asio::this_coro::executor, 5ms).async_wait(asio::use_awaitable);
    t.join();
    CHECK(*value == 5);
    CHECK(resumed_on == other_thread);
  });
}

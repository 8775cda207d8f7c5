// lib/pg's Connection and Transaction against the real cluster.
#include <doctest/doctest.h>

#include <limits>
#include <sstream>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "lib/pg/copy_binary.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/transaction.hpp"
#include "tests/integration/pg_harness.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using svc::pg::Connection;
using svc::pg::Params;
using svc::pg::PgError;
using svc::pg::errc;
using Clock = std::chrono::steady_clock;

namespace {

auto connect(asio::io_context& ioc, const svc::pg::ConnectOptions& o) {
  static auto log = pgtest::logger();
  return Connection::connect(ioc.get_executor(), o, *log);
}

// The PgError an operation throws, if any (keeps co_await out of CHECK macros).
template <typename T>
asio::awaitable<std::optional<PgError>> error_of(asio::awaitable<T> op) {
  std::optional<PgError> error;
  try {
    co_await std::move(op);
  } catch (const PgError& e) {
    error = e;
  }
  co_return error;
}

// A table of this test's own, dropped by the caller via libpqxx.
std::string unique_table(const std::string& tag) {
  return "t_" + tag + "_" + std::to_string(::getpid());
}

}  // namespace

TEST_CASE("parameters of every supported type round-trip, prepared and unnamed") {
  for (bool prepared : {true, false}) {
    CAPTURE(prepared);
    pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
      auto o = pgtest::options("types");
      o.prepared_statements = prepared;
      auto c = co_await connect(ioc, o);
      auto ts = std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(1'795'000'000'123'456LL));
      auto r = co_await c->query(
          "SELECT $1::int4, $2::int8, $3::float8, $4::bool, $5::text, $6::numeric(20,8), $7::timestamptz, $8::int4, "
          "$9::text",
          Params(std::int32_t{-42}, std::numeric_limits<std::int64_t>::max(), 0.1, true,
                 std::string("é \"quoted\" 'single' \\ ; DROP TABLE x"), "1234.5", ts, std::nullopt,
                 std::optional<std::string>{}));
      REQUIRE(r.rows() == 1);
      CHECK(r.int32(0, 0) == -42);
      CHECK(r.int64(0, 1) == std::numeric_limits<std::int64_t>::max());
      CHECK(r.float64(0, 2) == 0.1);
      CHECK(r.boolean(0, 3));
      CHECK(r.text(0, 4) == "é \"quoted\" 'single' \\ ; DROP TABLE x");
      CHECK(r.numeric(0, 5) == "1234.50000000");
      CHECK(r.timestamp(0, 6) == ts);
      CHECK(svc::pg::format_timestamp(r.timestamp(0, 6)) == "2026-11-18T11:06:40.123456Z");
      CHECK(r.is_null(0, 7));
      CHECK(r.is_null(0, 8));
      CHECK_THROWS_AS(r.int32(0, 7), PgError);  // NULL is not an int
      CHECK_THROWS_AS(r.int32(0, 4), PgError);  // text is not an int
      // The same statement again uses the cached prepared statement.
      auto again = co_await c->query("SELECT $1::int4 + 1", Params(std::int32_t{1}));
      auto again2 = co_await c->query("SELECT $1::int4 + 1", Params(std::int32_t{2}));
      CHECK(again.int32(0, 0) == 2);
      CHECK(again2.int32(0, 0) == 3);
    });
  }
}

TEST_CASE("server errors carry SQLSTATE, message and detail; the connection stays usable") {
  auto table = unique_table("uniq");
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, pgtest::options("errors"));
    std::optional<PgError> div, syntax, dup;
    try {
      co_await c->query("SELECT 1 / $1::int", Params(std::int32_t{0}));
    } catch (const PgError& e) {
      div = e;
    }
    try {
      co_await c->query("SELEC nonsense");
    } catch (const PgError& e) {
      syntax = e;
    }
    co_await c->execute("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (k int PRIMARY KEY)");
    co_await c->query("INSERT INTO " + table + " VALUES ($1)", Params(std::int32_t{1}));
    try {
      co_await c->query("INSERT INTO " + table + " VALUES ($1)", Params(std::int32_t{1}));
    } catch (const PgError& e) {
      dup = e;
    }
    REQUIRE(div);
    CHECK(div->sqlstate() == "22012");
    CHECK(div->code_value() == errc::query_failed);
    CHECK(std::string(div->what()) == "division by zero");
    REQUIRE(syntax);
    CHECK(syntax->sqlstate() == "42601");
    REQUIRE(dup);
    CHECK(dup->is_unique_violation());
    CHECK(dup->detail().find("already exists") != std::string::npos);
    CHECK_FALSE(dup->is_unavailable());
    auto ok = co_await c->query("SELECT 7");
    CHECK(ok.int32(0, 0) == 7);
    CHECK(c->healthy());
    co_await c->execute("DROP TABLE " + table);
  });
}

TEST_CASE("a pipeline of 100 statements runs in one round trip; an error stops it and the connection recovers") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, pgtest::options("pipeline"));
    std::vector<svc::pg::Statement> statements;
    for (std::int32_t i = 0; i < 100; ++i) statements.push_back({"SELECT $1::int4 * 2", Params(i)});
    auto results = co_await c->pipeline(statements);
    REQUIRE(results.size() == 100);
    for (std::int32_t i = 0; i < 100; ++i) CHECK(results[static_cast<std::size_t>(i)].int32(0, 0) == i * 2);

    std::vector<svc::pg::Statement> failing{{"SELECT 1", {}}, {"SELECT 1 / 0", {}}, {"SELECT 3", {}}};
    std::optional<PgError> error;
    try {
      co_await c->pipeline(failing);
    } catch (const PgError& e) {
      error = e;
    }
    REQUIRE(error);
    CHECK(error->sqlstate() == "22012");
    auto after = co_await c->query("SELECT 5");
    CHECK(after.int32(0, 0) == 5);
  });
}

TEST_CASE("a pipeline larger than the socket buffers completes: flush also reads what the server sends back") {
  // 200 x 100 kB up and back down: the server blocks writing results we have
  // not read yet, stops reading, and our send buffer fills. Waiting only for
  // "writable" there deadlocks both sides (pipeline() has no deadline).
  constexpr int kStatements = 200;
  const std::string payload(100 * 1024, 'x');
  bool finished = false;
  std::size_t bytes_back = 0;
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, pgtest::options("bigpipe"));
    std::vector<svc::pg::Statement> statements;
    for (int i = 0; i < kStatements; ++i) statements.push_back({"SELECT $1::text", Params(payload)});
    asio::steady_timer watchdog(ioc, 30s);  // bounds the test if it deadlocks
    auto outcome = co_await (c->pipeline(statements) || watchdog.async_wait(asio::use_awaitable));
    finished = outcome.index() == 0;
    if (finished)
      for (const auto& r : std::get<0>(outcome)) bytes_back += r.text(0, 0).size();
  });
  REQUIRE(finished);
  CHECK(bytes_back == kStatements * payload.size());
}

TEST_CASE("copy_in, binary format: every row arrives exactly (raw text, NULLs, several chunks); a bad row fails "
          "the whole COPY") {
  auto table = unique_table("copy");
  constexpr int kRows = 5000;  // ~400 kB: several 64 kB chunks
  // Binary text needs no escaping: tabs, newlines and a literal \N are data.
  const std::string tricky = "tab\there \\N back\\slash\nnew line\rcr é";
  // 2026-11-23T09:32:53.573555Z, with nanoseconds that must be truncated.
  const auto at = std::chrono::sys_days{std::chrono::year{2026} / 11 / 23} + 9h + 32min + 53s + 573555999ns;
  std::uint64_t copied = 0, after_bad = 0;
  std::optional<PgError> bad_row, no_table;
  std::int32_t after = 0;
  bool healthy = false;
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, pgtest::options("copy"));
    const std::string create = "DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                               " (k int PRIMARY KEY, note text, n bigint, at timestamptz, d double precision)";
    co_await c->execute(create);
    const std::string copy_sql = "COPY " + table + " (k, note, n, at, d) FROM STDIN (FORMAT binary)";
    std::string data;
    svc::pg::begin_copy_binary(data);
    for (int i = 0; i < kRows; ++i) {
      svc::pg::CopyRow row(data, 5, tricky.size());
      row.int4(i - 2);  // negatives too
      if (i % 2 == 0) {
        row.text(tricky);
      } else {
        row.null();
      }
      row.int8(std::int64_t{i} * 1'000'000'007LL);
      row.timestamptz(at);
      row.float8(i / 4.0);
    }
    svc::pg::end_copy_binary(data);
    copied = co_await c->copy_in(copy_sql, data);

    // One bad row, far into the data (a bigint where the column is integer):
    // nothing of the COPY is stored.
    std::string bad;
    svc::pg::begin_copy_binary(bad);
    for (int i = kRows; i < 2 * kRows; ++i) {
      svc::pg::CopyRow row(bad, 5, 1);
      if (i == kRows + 4000) {
        row.int8(i);
      } else {
        row.int4(i);
      }
      row.text("x");
      row.int8(1);
      row.timestamptz(at);
      row.float8(0);
    }
    svc::pg::end_copy_binary(bad);
    try {
      co_await c->copy_in(copy_sql, bad);
    } catch (const PgError& e) {
      bad_row = e;
    }
    const std::string missing = "COPY " + table + "_missing (k) FROM STDIN (FORMAT binary)";
    try {
      co_await c->copy_in(missing, data);
    } catch (const PgError& e) {
      no_table = e;
    }
    healthy = c->healthy();
    auto r = co_await c->query("SELECT 7");
    after = r.int32(0, 0);
    const std::string one_more = "COPY " + table + " (k) FROM STDIN";  // text format still works
    after_bad = co_await c->copy_in(one_more, "-100\n");
  });
  CHECK(copied == kRows);
  REQUIRE(bad_row);
  CHECK(bad_row->code_value() == errc::query_failed);
  CHECK(bad_row->sqlstate() == "22P03");  // invalid_binary_representation
  REQUIRE(no_table);
  CHECK(no_table->sqlstate() == "42P01");
  CHECK(healthy);
  CHECK(after == 7);
  CHECK(after_bad == 1);
  CHECK(pgtest::oracle_scalar("SELECT count(*) FROM " + table) == std::to_string(kRows + 1));
  CHECK(pgtest::oracle_scalar("SELECT min(k) || ' ' || max(k) FROM " + table) ==
        "-100 " + std::to_string(kRows - 3));
  CHECK(pgtest::oracle_scalar("SELECT count(*) FROM " + table + " WHERE note IS NULL AND k > -100") ==
        std::to_string(kRows / 2));
  CHECK(pgtest::oracle_scalar("SELECT count(*) FROM " + table + " WHERE note = " +
                              "E'tab\\there \\\\N back\\\\slash\\nnew line\\rcr é'") == std::to_string(kRows / 2));
  CHECK(pgtest::oracle_scalar("SELECT sum(n) FROM " + table) ==
        std::to_string(1'000'000'007LL * (std::int64_t{kRows} * (kRows - 1) / 2)));
  CHECK(pgtest::oracle_scalar("SELECT sum(d) FROM " + table) == std::to_string((kRows - 1) * kRows / 8));
  CHECK(pgtest::oracle_scalar("SELECT DISTINCT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM " +
                              table + " WHERE k > -100") == "2026-11-23 09:32:53.573555");
  pgtest::oracle_exec("DROP TABLE " + table);
}

TEST_CASE("a query past its deadline is cancelled on the server within 1 s and the connection recovers") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto o = pgtest::options("cancel");
    auto c = co_await connect(ioc, o);
    int pid = c->backend_pid();
    auto t0 = Clock::now();
    std::optional<PgError> error;
    try {
      co_await c->query("SELECT pg_sleep(10)", {}, 300ms);
    } catch (const PgError& e) {
      error = e;
    }
    auto waited = Clock::now() - t0;
    REQUIRE(error);
    CHECK(error->code_value() == errc::timeout);
    CHECK(waited < 1s);
    CHECK(c->interrupted());
    auto failed1 = co_await error_of(c->query("SELECT 1"));
    CHECK(failed1.has_value());  // unusable until recovered

    bool recovered = co_await c->recover(2s);
    CHECK(recovered);
    auto r = co_await c->query("SELECT 1");
    CHECK(r.int32(0, 0) == 1);
    CHECK(c->backend_pid() == pid);  // the same backend: cancelled, not replaced
    // The server no longer runs pg_sleep for us.
    CHECK(pgtest::oracle_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                o.application_name + "' AND query LIKE '%pg_sleep%' AND state = 'active'") == "0");
  });
}

TEST_CASE("cancelling the awaiting coroutine interrupts the query; recovery also rolls back its transaction") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, pgtest::options("cancel2"));
    co_await c->execute("BEGIN");
    asio::steady_timer timer(ioc, 200ms);
    auto t0 = Clock::now();
    auto winner = co_await (c->query("SELECT pg_sleep(10)") || timer.async_wait(asio::use_awaitable));
    CHECK(winner.index() == 1);
    CHECK(Clock::now() - t0 < 1s);
    CHECK(c->interrupted());
    bool recovered = co_await c->recover(2s);
    CHECK(recovered);
    CHECK(c->transaction_status() == Connection::TxStatus::idle);
  });
}

TEST_CASE("statement_timeout from the connect options is enforced by the server") {
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto o = pgtest::options("stmt-timeout");
    o.statement_timeout = 100ms;
    auto c = co_await connect(ioc, o);
    std::optional<PgError> error;
    try {
      co_await c->query("SELECT pg_sleep(5)");
    } catch (const PgError& e) {
      error = e;
    }
    REQUIRE(error);
    CHECK(error->sqlstate() == "57014");  // query_canceled
    auto r = co_await c->query("SHOW statement_timeout");
    CHECK(r.text(0, 0) == "100ms");
  });
}

TEST_CASE("a role whose defaults are not ISO and UTC still reads ISO timestamps in UTC, without a startup option") {
  // What PgBouncer cannot pass on (the `options` startup parameter) is not
  // needed: the driver sets DateStyle and TimeZone after connecting.
  const std::string role = "t_tz_" + std::to_string(::getpid());
  pgtest::oracle_exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN PASSWORD 'tz-test'; ALTER ROLE " +
                      role + " SET timezone = 'Asia/Kolkata'; ALTER ROLE " + role + " SET datestyle = 'German, DMY'");
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto o = pgtest::options("tz");
    o.conninfo += " user='" + role + "' password='tz-test'";
    auto c = co_await connect(ioc, o);
    auto r = co_await c->query(
        "SELECT current_setting('TimeZone'), current_setting('DateStyle'), '2026-11-23 09:32:53.5+00'::timestamptz, "
        "current_setting('statement_timeout')");
    CHECK(r.text(0, 0) == "UTC");
    CHECK(r.text(0, 1) == "ISO, DMY");
    CHECK(r.text(0, 2) == "2026-11-23 09:32:53.5+00");
    CHECK(svc::pg::format_timestamp(r.timestamp(0, 2)) == "2026-11-23T09:32:53.500000Z");
    CHECK(r.text(0, 3) == "0");  // nothing sent for it when DB_STATEMENT_TIMEOUT is 0
  });
  pgtest::oracle_exec("DROP ROLE " + role);
}

TEST_CASE("transactions: dropped without commit leaves no row; commit keeps it; a failure poisons until rollback") {
  auto table = unique_table("tx");
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, pgtest::options("tx"));
    co_await c->execute("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (k int PRIMARY KEY)");
    {
      auto tx = co_await svc::pg::Transaction::begin(*c);
      co_await tx.query("INSERT INTO " + table + " VALUES (1)");
    }  // dropped: no commit
    CHECK(c->needs_rollback());
    auto count = co_await c->query("SELECT count(*) FROM " + table);  // rolls back first
    CHECK(count.int64(0, 0) == 0);

    {
      auto tx = co_await svc::pg::Transaction::begin(*c);
      co_await tx.query("INSERT INTO " + table + " VALUES (2)");
      co_await tx.commit();
    }
    {
      auto tx = co_await svc::pg::Transaction::begin(*c);
      co_await tx.query("INSERT INTO " + table + " VALUES (3)");
      auto failed2 = co_await error_of(tx.query("INSERT INTO " + table + " VALUES (2)"));
      CHECK(failed2.has_value());  // duplicate
      CHECK(tx.poisoned());
      std::optional<PgError> poisoned;
      try {
        co_await tx.query("SELECT 1");
      } catch (const PgError& e) {
        poisoned = e;
      }
      REQUIRE(poisoned);
      CHECK(poisoned->sqlstate() == "25P02");
      auto failed3 = co_await error_of(tx.commit());
      CHECK(failed3.has_value());  // commit of a poisoned transaction rolls back
    }
    CHECK(c->transaction_status() == Connection::TxStatus::idle);
  });
  // The oracle sees exactly the committed row.
  CHECK(pgtest::oracle_scalar("SELECT string_agg(k::text, ',' ORDER BY k) FROM " + table) == "2");
  pgtest::oracle_exec("DROP TABLE " + table);
}

TEST_CASE("connect failures are errors with a reason and no password") {
  auto o = pgtest::options("badauth");
  auto url = pgtest::database_url();
  o.conninfo += " password='definitely-wrong-pw'";
  std::optional<PgError> error;
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    try {
      co_await connect(ioc, o);
    } catch (const PgError& e) {
      error = e;
    }
  });
  REQUIRE(error);
  CHECK(error->code_value() == errc::connect_failed);
  CHECK(std::string(error->what()).find("password authentication failed") != std::string::npos);
  CHECK(std::string(error->what()).find("definitely-wrong-pw") == std::string::npos);
  CHECK(error->is_unavailable());
}

TEST_CASE("connecting to a port where nothing listens fails fast") {
  auto o = pgtest::options("refused");
  o.conninfo = "host=127.0.0.1 port=1 user=x dbname=x";
  std::optional<PgError> refused;
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    try {
      co_await connect(ioc, o);
    } catch (const PgError& e) {
      refused = e;
    }
  });
  REQUIRE(refused);
  CHECK(refused->code_value() == errc::connect_failed);
}

TEST_CASE("server notices go to the connection's log, one line each") {
  std::ostringstream captured;
  auto log = std::make_shared<spdlog::logger>("notices", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  log->set_pattern("%l %v");
  log->set_level(spdlog::level::info);
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await Connection::connect(ioc.get_executor(), pgtest::options("notices"), *log);
    co_await c->execute("DO $$ BEGIN RAISE NOTICE 'hello-notice-%', 42 USING DETAIL = 'second line'; END $$");
    auto ok = co_await c->query("SELECT 1");
    CHECK(ok.int32(0, 0) == 1);
  });
  log->flush();
  const auto text = captured.str();
  INFO("log:\n", text);
  auto at = text.find("info postgres notice: NOTICE:  hello-notice-42");
  REQUIRE(at != std::string::npos);
  auto line = text.substr(at, text.find('\n', at) - at);
  CHECK(line.find("second line") != std::string::npos);  // DETAIL folded into the same record
}

TEST_CASE("host names are resolved by Asio and given to libpq as hostaddr; an unknown name fails with a reason") {
  auto o = pgtest::options("dns");
  const auto at = o.conninfo.find("host='127.0.0.1'");
  REQUIRE(at != std::string::npos);
  o.conninfo.replace(at, std::string("host='127.0.0.1'").size(), "host='localhost'");
  std::optional<PgError> unknown;
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, o);
    auto r = co_await c->query("SELECT inet_server_addr()::text");
    // localhost may resolve to ::1 as well: the server answered on one of them.
    CHECK((r.text(0, 0) == "127.0.0.1/32" || r.text(0, 0) == "::1/128"));
    // libpq kept the name (hostaddr carries the address).
    CHECK(std::string(PQhost(c->native())) == "localhost");

    auto bad = o;
    bad.conninfo.replace(at, std::string("host='localhost'").size(), "host='no-such-host.invalid'");
    try {
      co_await connect(ioc, bad);
    } catch (const PgError& e) {
      unknown = e;
    }
  });
  REQUIRE(unknown);
  CHECK(unknown->code_value() == errc::connect_failed);
  CHECK(std::string(unknown->what()).find("could not resolve host \"no-such-host.invalid\"") != std::string::npos);
}

TEST_CASE("connections carry TCP keepalives and TCP_USER_TIMEOUT, so a silent peer breaks the socket") {
  auto o = pgtest::options("tcp");
  o.tcp_user_timeout = std::chrono::milliseconds(7000);
  pgtest::run([&](asio::io_context& ioc) -> asio::awaitable<void> {
    auto c = co_await connect(ioc, o);
    const int fd = PQsocket(c->native());
    int keepalive = 0, user_timeout = 0, idle = 0;
    socklen_t n = sizeof(int);
    ::getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &n);
    n = sizeof(int);
    ::getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, &n);
    n = sizeof(int);
    ::getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &n);
    CHECK(keepalive == 1);
    CHECK(user_timeout == 7000);
    CHECK(idle == 10);
  });
}

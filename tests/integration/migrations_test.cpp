// lib/pg/migrations against the real cluster (TEST_DATABASE_URL). Every test
// works in a database of its own (tests/support/pg_test_db), so they may run
// in parallel; libpqxx is the independent oracle for what ended up stored.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "app/migrations.hpp"
#include "lib/pg/connection.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/migrations.hpp"
#include "tests/support/pg_test_db.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using svc::pg::Connection;
using svc::pg::Migration;
using svc::pg::MigrationState;
using svc::pg::PgError;
using testsupport::PgTestDatabase;

namespace {

// The application's lock name (every process migrating a schema uses the same).
constexpr std::string_view kLockName = "p2p-dashboard:migrations";


#define SKIP_WITHOUT_DATABASE(url)                                                             \
  const auto url = testsupport::test_database_url();                                          \
  if (!url) {                                                                                  \
    MESSAGE("TEST_DATABASE_URL is not set: skipped (scripts/test starts a cluster and sets it)"); \
    return;                                                                                    \
  }

// One connection on its own io_context, driven synchronously from the test
// thread, so libpqxx checks can run between steps while it stays open.
class Session {
 public:
  explicit Session(const std::string& conninfo, spdlog::level::level_enum level = spdlog::level::info,
                   std::chrono::milliseconds statement_timeout = 0ms)
      : log_(std::make_shared<spdlog::logger>("migrations-test",
                                               std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text_))) {
    log_->set_pattern("%l %v");
    log_->set_level(level);
    svc::pg::ConnectOptions options;
    options.conninfo = conninfo;
    options.application_name = "migrations-test";
    options.statement_timeout = statement_timeout;
    auto connected = asio::co_spawn(ioc_, Connection::connect(ioc_.get_executor(), options, *log_), asio::use_future);
    ioc_.run();
    conn_ = connected.get();
  }

  template <typename MakeAwaitable>
  auto run(MakeAwaitable make) {
    ioc_.restart();
    auto future = asio::co_spawn(ioc_, make(), asio::use_future);
    ioc_.run();
    return future.get();
  }

  int apply(std::span<const Migration> migrations, std::chrono::milliseconds lock_timeout = 30s) {
    return run([&] { return svc::pg::apply_migrations(*conn_, migrations, kLockName, lock_timeout, *log_); });
  }
  // apply, raced against a timer of `after`: true if the timer won (apply was cancelled).
  bool apply_cancelled_after(std::span<const Migration> migrations, std::chrono::milliseconds after) {
    return run([&]() -> asio::awaitable<bool> {
      asio::steady_timer timer(co_await asio::this_coro::executor, after);
      auto winner = co_await (svc::pg::apply_migrations(*conn_, migrations, kLockName, 30s, *log_) ||
                              timer.async_wait(asio::use_awaitable));
      co_return winner.index() == 1;
    });
  }
  std::vector<MigrationState> status(std::span<const Migration> migrations) {
    return run([&] { return svc::pg::migration_status(*conn_, migrations); });
  }
  std::string scalar(const std::string& sql) {
    return run([&]() -> asio::awaitable<std::string> {
      auto r = co_await conn_->query(sql);
      co_return std::string(r.text(0, 0));
    });
  }
  // The error `apply` throws ("" if none), keeping the PgError for checks.
  std::string apply_error(std::span<const Migration> migrations, std::optional<PgError>* error = nullptr,
                          std::chrono::milliseconds lock_timeout = 30s) {
    try {
      apply(migrations, lock_timeout);
    } catch (const PgError& e) {
      if (error != nullptr) *error = e;
      return e.what();
    }
    return "";
  }

  Connection& conn() { return *conn_; }
  std::string log_text() const { return log_text_.str(); }

 private:
  std::ostringstream log_text_;
  std::shared_ptr<spdlog::logger> log_;
  asio::io_context ioc_{1};
  std::unique_ptr<Connection> conn_;  // declared after ioc_: destroyed before it
};

// libpqxx, the oracle: the rows of `sql` as text ("NULL" for null).
std::vector<std::vector<std::string>> oracle_rows(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : tx.exec(sql)) {
    std::vector<std::string> values;
    for (const auto& field : row) values.push_back(field.is_null() ? "NULL" : field.as<std::string>());
    rows.push_back(std::move(values));
  }
  return rows;
}

std::string oracle_scalar(const std::string& url, const std::string& sql) {
  const auto rows = oracle_rows(url, sql);
  REQUIRE(rows.size() == 1);
  return rows[0].at(0);
}

bool table_exists(const std::string& url, const std::string& table) {
  return oracle_scalar(url, "SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

// (version, name, checksum) of every recorded migration, by version.
std::vector<std::vector<std::string>> recorded(const std::string& url) {
  return oracle_rows(url, "SELECT version::text, name, checksum FROM schema_migrations ORDER BY version");
}

std::vector<std::vector<std::string>> expected_rows(std::span<const Migration> migrations) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : migrations) {
    rows.push_back({std::to_string(m.version), std::string(m.name), svc::pg::migration_checksum(m.sql)});
  }
  return rows;
}

// Advisory locks held in `dbname` right now (the migration lock must never outlive apply).
int advisory_locks(const std::string& url, const std::string& dbname) {
  return std::stoi(oracle_scalar(url, "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                                      "WHERE l.locktype = 'advisory' AND d.datname = '" + dbname + "'"));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The migration lock's key: FNV-1a 64 of the lock name, as a signed bigint.
std::int64_t lock_key() {
  return static_cast<std::int64_t>(std::stoull(svc::pg::migration_checksum(kLockName), nullptr, 16));
}

// Small migrations of the test's own.
const std::array<Migration, 3> kSmall{{
    {1, "create_a", "CREATE TABLE a (id integer PRIMARY KEY);\nINSERT INTO a VALUES (1), (2);"},
    {2, "create_b", "CREATE TABLE b (id integer PRIMARY KEY, a_id integer NOT NULL REFERENCES a);"},
    {5, "add_b_note", "ALTER TABLE b ADD COLUMN note text; INSERT INTO b VALUES (1, 1, 'x');"},
}};

}  // namespace

TEST_SUITE("pg-migrations") {
  TEST_CASE("the embedded migrations are the files in app/sql/migrations, in order") {
    const auto all = p2p::migrations();
    REQUIRE(all.size() >= 1);
    CHECK(all[0].version == 1);
    CHECK(all[0].name == "create_offers");
    CHECK(contains(std::string(all[0].sql), "CREATE TABLE offers"));
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].version > all[i - 1].version);
  }

  TEST_CASE("migration_checksum is FNV-1a 64 in 16 hex digits") {
    CHECK(svc::pg::migration_checksum("") == "cbf29ce484222325");
    CHECK(svc::pg::migration_checksum("a") == "af63dc4c8601ec8c");
    CHECK(svc::pg::migration_checksum("foobar") == "85944171f73967e8");
    CHECK(svc::pg::migration_checksum("SELECT 1") != svc::pg::migration_checksum("SELECT 1 "));
  }

  TEST_CASE("a fresh database gets every embedded migration, recorded once") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    const auto all = p2p::migrations();
    Session s(db.conninfo());
    CHECK(s.apply(all) == static_cast<int>(all.size()));

    for (const char* table : {"offers", "payment_methods", "offer_payment_methods", "schema_migrations"}) {
      CAPTURE(table);
      CHECK(table_exists(db.url(), table));
    }
    CHECK(recorded(db.url()) == expected_rows(all));
    CHECK(oracle_scalar(db.url(), "SELECT count(*) FROM schema_migrations WHERE applied_at IS NULL "
                                  "OR applied_at > now() OR applied_at < now() - interval '1 minute'") == "0");
    CHECK(advisory_locks(db.url(), db.name()) == 0);  // released while the connection is still open

    const auto log = s.log_text();
    INFO("log:\n", log);
    CHECK(std::regex_search(log, std::regex("info migration 0001 create_offers applied in [0-9]+ ms\n")));
    CHECK(contains(log, "migrations: " + std::to_string(all.size()) + " applied in "));
  }

  TEST_CASE("the schema of 0001_create_offers behaves as the API needs") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session(db.conninfo(), spdlog::level::warn).apply(p2p::migrations());

    pqxx::connection c(db.url());
    {
      pqxx::work tx(c);
      tx.exec0("INSERT INTO payment_methods (name) VALUES ('Bank Transfer')");
      const auto row = tx.exec1(
          "INSERT INTO offers (exchange, external_id, fiat, asset, trade_type, price, available, min_limit, max_limit) "
          "VALUES ('binance', 'x1', 'VES', 'USDT', 'BUY', 36.123456789, 100, 10, 1000) "
          "RETURNING id::text, advertiser, price::text, fetched_at IS NOT NULL");
      CHECK(row[0].as<std::string>().size() == 36);  // gen_random_uuid()
      CHECK(row[1].as<std::string>() == "Unknown");
      CHECK(row[2].as<std::string>() == "36.12345679");  // numeric(20,8)
      CHECK(row[3].as<bool>());
      tx.exec0("INSERT INTO offer_payment_methods SELECT o.id, p.id FROM offers o, payment_methods p");
      tx.commit();
    }
    CHECK_THROWS_AS(pqxx::work(c).exec0("INSERT INTO payment_methods (name) VALUES ('Bank Transfer')"),
                    pqxx::unique_violation);
    CHECK_THROWS_AS(pqxx::work(c).exec0("INSERT INTO offers (exchange, external_id, fiat, asset, trade_type, price, "
                                        "available, min_limit, max_limit) VALUES ('b', 'x', 'VES', 'USDT', 'HOLD', "
                                        "1, 1, 1, 1)"),
                    pqxx::check_violation);
    {
      pqxx::work tx(c);
      tx.exec0("DELETE FROM offers");  // ON DELETE CASCADE
      CHECK(tx.exec1("SELECT count(*) FROM offer_payment_methods")[0].as<int>() == 0);
    }
    // The indexes the history queries (keyset pagination, newest first) rely on.
    const auto indexes = oracle_rows(db.url(), "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'offers' "
                                               "AND indexname <> 'offers_pkey' ORDER BY indexname");
    REQUIRE(indexes.size() == 4);  // two more from 0005, checked below
    CHECK(indexes[0][0] == "offers_history_idx");
    CHECK(contains(indexes[0][1], "USING btree (fetched_at DESC, id DESC)"));
    CHECK(indexes[1][0] == "offers_market_history_idx");
    CHECK(contains(indexes[1][1], "USING btree (exchange, fiat, asset, trade_type, fetched_at DESC, id DESC)"));
  }

  TEST_CASE("the schema of 0005_offer_advertiser_reputation: checked columns and the filters' indexes") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session(db.conninfo(), spdlog::level::warn).apply(p2p::migrations());

    pqxx::connection c(db.url());
    const std::string insert =
        "INSERT INTO offers (exchange, external_id, fiat, asset, trade_type, price, available, min_limit, max_limit";
    {
      pqxx::work tx(c);
      // Without reputation: unknown, not a merchant.
      const auto row = tx.exec1(insert + ") VALUES ('bybit', 'x1', 'VES', 'USDT', 'BUY', 1, 1, 1, 1)"
                                         " RETURNING advertiser_orders_30d IS NULL, advertiser_completion_rate IS NULL,"
                                         " merchant");
      CHECK(row[0].as<bool>());
      CHECK(row[1].as<bool>());
      CHECK_FALSE(row[2].as<bool>());
      const auto rate = tx.exec1(insert + ", advertiser_orders_30d, advertiser_completion_rate, merchant) VALUES"
                                          " ('bybit', 'x2', 'VES', 'USDT', 'BUY', 1, 1, 1, 1, 0, 0.123456789, true)"
                                          " RETURNING advertiser_completion_rate::text");
      CHECK(rate[0].as<std::string>() == "0.12345679");  // numeric(9,8)
      tx.commit();
    }
    for (const std::string values : {"-1, 0.5", "1, 1.00000001", "1, -0.1"}) {
      INFO(values);
      CHECK_THROWS_AS(pqxx::work(c).exec0(insert + ", advertiser_orders_30d, advertiser_completion_rate) VALUES"
                                                   " ('b', 'x', 'VES', 'USDT', 'BUY', 1, 1, 1, 1, " + values + ")"),
                      pqxx::check_violation);
    }
    const auto partial = oracle_rows(db.url(), "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'offers'"
                                               " AND indexname LIKE 'offers_merchant_%' ORDER BY indexname");
    REQUIRE(partial.size() == 2);
    CHECK(partial[0][0] == "offers_merchant_history_idx");
    CHECK(contains(partial[0][1], "USING btree (fetched_at DESC, id DESC) WHERE merchant"));
    CHECK(partial[1][0] == "offers_merchant_market_history_idx");
    CHECK(contains(partial[1][1],
                   "USING btree (exchange, fiat, asset, trade_type, fetched_at DESC, id DESC) WHERE merchant"));
    CHECK(oracle_scalar(db.url(), "SELECT indexdef FROM pg_indexes WHERE indexname = 'offer_payment_methods_method_idx'")
              .find("(payment_method_id, offer_id)") != std::string::npos);
  }

  TEST_CASE("a second run applies nothing and changes nothing") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session s(db.conninfo());
    CHECK(s.apply(kSmall) == 3);
    const auto before = oracle_rows(db.url(), "SELECT version, applied_at::text FROM schema_migrations ORDER BY 1");
    CHECK(s.apply(kSmall) == 0);
    CHECK(Session(db.conninfo()).apply(kSmall) == 0);  // another session sees the same
    CHECK(oracle_rows(db.url(), "SELECT version, applied_at::text FROM schema_migrations ORDER BY 1") == before);
    CHECK(oracle_scalar(db.url(), "SELECT count(*) FROM a") == "2");  // data statements ran once
    CHECK(contains(s.log_text(), "migrations: schema up to date at version 0005 (3 applied earlier)"));
    CHECK(advisory_locks(db.url(), db.name()) == 0);
  }

  TEST_CASE("new migrations are applied on top of old ones") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session s(db.conninfo());
    CHECK(s.apply(std::span(kSmall).first(1)) == 1);
    CHECK(s.apply(kSmall) == 2);
    CHECK(recorded(db.url()) == expected_rows(kSmall));
    CHECK(contains(s.log_text(), "migration 0005 add_b_note applied in "));
    CHECK(contains(s.log_text(), "migrations: 2 applied in "));
  }

  TEST_CASE("status: pending on a database nobody migrated, then applied with timestamps") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session s(db.conninfo());

    auto states = s.status(kSmall);
    REQUIRE(states.size() == 3);
    for (std::size_t i = 0; i < states.size(); ++i) {
      CHECK(states[i].version == kSmall[i].version);
      CHECK(states[i].name == kSmall[i].name);
      CHECK_FALSE(states[i].applied);
      CHECK(states[i].applied_at.empty());
    }
    CHECK_FALSE(table_exists(db.url(), "schema_migrations"));  // asking creates nothing

    s.apply(std::span(kSmall).first(2));
    states = s.status(kSmall);
    REQUIRE(states.size() == 3);
    const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    const auto stored = oracle_rows(
        db.url(), "SELECT to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                  "FROM schema_migrations ORDER BY version");
    REQUIRE(stored.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
      CAPTURE(i);
      CHECK(states[i].applied);
      CHECK(std::regex_match(states[i].applied_at, iso));
      CHECK(states[i].applied_at == stored[i][0]);
    }
    CHECK(states[2].version == 5);
    CHECK_FALSE(states[2].applied);
    CHECK(states[2].applied_at.empty());

    // A version the database has but this build does not know is listed too.
    states = s.status(std::span(kSmall).first(1));
    REQUIRE(states.size() == 2);
    CHECK(states[1].version == 2);
    CHECK(states[1].name == "create_b");
    CHECK(states[1].applied);
  }

  TEST_CASE("a migration changed after it was applied is an error naming it") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session s(db.conninfo());
    s.apply(std::span(kSmall).first(2));

    auto changed = kSmall;
    changed[1].sql = "CREATE TABLE b (id bigint PRIMARY KEY);";
    std::optional<PgError> error;
    const auto message = s.apply_error(changed, &error);
    CHECK(message == "migration 0002_create_b was changed after it was applied (checksum " +
                         svc::pg::migration_checksum(kSmall[1].sql) + " recorded, " +
                         svc::pg::migration_checksum(changed[1].sql) + " now); add a new migration instead");
    REQUIRE(error);
    CHECK(error->code_value() == svc::pg::errc::protocol);
    // Nothing else happened: version 5 (pending) was not applied, the lock is free.
    CHECK(recorded(db.url()) == expected_rows(std::span(kSmall).first(2)));
    CHECK(advisory_locks(db.url(), db.name()) == 0);
    CHECK(s.scalar("SELECT 1") == "1");  // the connection is still fine
  }

  TEST_CASE("a failing migration is rolled back entirely and named") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session s(db.conninfo());

    std::array<Migration, 3> broken = kSmall;
    broken[1] = {2, "create_c_broken",
                 "CREATE TABLE c (id integer PRIMARY KEY);\nINSERT INTO a VALUES (3);\nSELECT * FROM no_such_table;"};
    std::optional<PgError> error;
    const auto message = s.apply_error(broken, &error);
    INFO("message: ", message);
    CHECK(message.rfind("migration 0002_create_c_broken failed: ", 0) == 0);
    CHECK(contains(message, "no_such_table"));
    REQUIRE(error);
    CHECK(error->sqlstate() == "42P01");

    // 0001 stays applied; nothing of 0002 survives; 0005 never ran.
    CHECK(recorded(db.url()) == expected_rows(std::span(kSmall).first(1)));
    CHECK_FALSE(table_exists(db.url(), "c"));
    CHECK(oracle_scalar(db.url(), "SELECT count(*) FROM a") == "2");
    CHECK(advisory_locks(db.url(), db.name()) == 0);
    CHECK(s.conn().transaction_status() == Connection::TxStatus::idle);
    CHECK(s.conn().healthy());
    CHECK(s.scalar("SELECT 1") == "1");

    // A failure in the recording step (the INSERT) rolls back the migration too.
    std::array<Migration, 2> records_fail = {kSmall[0], Migration{2, "drops_record_table",
                                                                  "CREATE TABLE d (id integer);"
                                                                  "DROP TABLE schema_migrations;"}};
    CHECK(s.apply_error(records_fail).rfind("migration 0002_drops_record_table failed: ", 0) == 0);
    CHECK_FALSE(table_exists(db.url(), "d"));
    CHECK(recorded(db.url()) == expected_rows(std::span(kSmall).first(1)));

    // Fixed, it applies.
    CHECK(s.apply(kSmall) == 2);
    CHECK(recorded(db.url()) == expected_rows(kSmall));
  }

  TEST_CASE("versions must be unique and increasing; nothing is touched otherwise") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    Session s(db.conninfo());
    const std::array<Migration, 2> duplicate{{{1, "one", "SELECT 1"}, {1, "uno", "SELECT 1"}}};
    const std::array<Migration, 2> decreasing{{{2, "two", "SELECT 1"}, {1, "one", "SELECT 1"}}};
    CHECK_THROWS_WITH_AS(s.apply(duplicate),
                         "migration versions must be unique and strictly increasing: 0001_uno follows 0001_one",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(s.apply(decreasing),
                         "migration versions must be unique and strictly increasing: 0001_one follows 0002_two",
                         std::invalid_argument);
    CHECK_THROWS_AS(s.status(decreasing), std::invalid_argument);
    CHECK_FALSE(table_exists(db.url(), "schema_migrations"));
    CHECK(s.apply({}) == 0);  // no migrations: fine, creates the bookkeeping table only
    CHECK(table_exists(db.url(), "schema_migrations"));
  }

  TEST_CASE("apply waits for the lock holder, its migrations exempt from the session's statement_timeout") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    pqxx::connection holder(db.url());
    pqxx::nontransaction(holder).exec1("SELECT pg_advisory_lock(" + std::to_string(lock_key()) + ")");
    std::thread release([&] {
      std::this_thread::sleep_for(1s);
      pqxx::nontransaction(holder).exec1("SELECT pg_advisory_unlock(" + std::to_string(lock_key()) + ")");
    });

    Session s(db.conninfo(), spdlog::level::info, 200ms);
    std::array<Migration, 2> slow{{kSmall[0], {2, "slow", "SELECT pg_sleep(0.4)"}}};
    const auto started = std::chrono::steady_clock::now();
    int applied = -1;
    CHECK_NOTHROW(applied = s.apply(slow, 10s));
    const auto waited = std::chrono::steady_clock::now() - started;
    release.join();
    CHECK(applied == 2);
    CHECK(waited >= 1s);  // it did wait for the holder
    CHECK(contains(s.log_text(), "another process holds the migration lock; waiting up to 10000 ms"));
    // SET LOCAL inside each migration's transaction: the session keeps its own.
    CHECK(s.scalar("SHOW statement_timeout") == "200ms");
    CHECK(recorded(db.url()) == expected_rows(slow));
    CHECK(advisory_locks(db.url(), db.name()) == 0);
  }

  TEST_CASE("a lock held past the lock timeout: the attempt fails with timeout, in time, leaving nothing") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    pqxx::connection holder(db.url());
    pqxx::nontransaction(holder).exec1("SELECT pg_advisory_lock(" + std::to_string(lock_key()) + ")");

    Session s(db.conninfo());
    const auto started = std::chrono::steady_clock::now();
    std::optional<PgError> error;
    const auto message = s.apply_error(kSmall, &error, 300ms);
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(error);
    CHECK(error->code_value() == svc::pg::errc::timeout);
    CHECK(message == "another process has held the migration lock for over 300 ms (MIGRATIONS_LOCK_TIMEOUT)");
    CHECK(took >= 300ms);
    CHECK(took < 2s);
    CHECK(advisory_locks(db.url(), db.name()) == 1);  // the holder's only
    CHECK_FALSE(table_exists(db.url(), "schema_migrations"));
    CHECK(s.scalar("SELECT 1") == "1");  // the connection is still fine
  }

  TEST_CASE("cancelling apply while it waits for the lock ends it at once, without a lock of its own") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    pqxx::connection holder(db.url());
    pqxx::nontransaction(holder).exec1("SELECT pg_advisory_lock(" + std::to_string(lock_key()) + ")");

    Session s(db.conninfo());
    const auto started = std::chrono::steady_clock::now();
    CHECK(s.apply_cancelled_after(kSmall, 200ms));
    CHECK(std::chrono::steady_clock::now() - started < 1500ms);  // not the 30 s lock timeout
    CHECK(advisory_locks(db.url(), db.name()) == 1);
    CHECK_FALSE(table_exists(db.url(), "schema_migrations"));
  }

  TEST_CASE("4 processes migrating one empty database at once apply each migration exactly once") {
    SKIP_WITHOUT_DATABASE(url);
    PgTestDatabase db("mig", *url);
    const std::string conninfo = db.conninfo();
    // The app's schema plus a slow migration, so the processes surely overlap.
    std::vector<Migration> migrations(p2p::migrations().begin(), p2p::migrations().end());
    migrations.push_back({9001, "slow", "SELECT pg_sleep(0.5); CREATE TABLE slow_done (id integer);"});
    migrations.push_back({9002, "after_slow", "INSERT INTO slow_done VALUES (1);"});
    constexpr int kProcesses = 4;

    int go[2];
    REQUIRE(::pipe(go) == 0);
    struct Child {
      pid_t pid;
      int out;  // read end: "applied=N" or "error=..."
    };
    std::vector<Child> children;
    for (int i = 0; i < kProcesses; ++i) {
      int out[2];
      REQUIRE(::pipe(out) == 0);
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // Child: its own io_context and connection; no doctest, no atexit.
        ::close(go[1]);
        ::close(out[0]);
        std::string report;
        try {
          auto log = std::make_shared<spdlog::logger>("child", std::make_shared<spdlog::sinks::null_sink_mt>());
          asio::io_context ioc(1);
          svc::pg::ConnectOptions options;
          options.conninfo = conninfo;
          options.application_name = "migrations-test-child";
          auto connected = asio::co_spawn(ioc, Connection::connect(ioc.get_executor(), options, *log), asio::use_future);
          ioc.run();
          auto conn = connected.get();
          char byte;
          while (::read(go[0], &byte, 1) < 0 && errno == EINTR) {
          }  // EOF when the parent opens the gate: all start together
          ioc.restart();
          auto applied =
              asio::co_spawn(ioc, svc::pg::apply_migrations(*conn, migrations, kLockName, 60s, *log), asio::use_future);
          ioc.run();
          report = "applied=" + std::to_string(applied.get());
        } catch (const std::exception& e) {
          report = std::string("error=") + e.what();
        }
        const auto written = ::write(out[1], report.data(), report.size());
        ::_exit(written == static_cast<ssize_t>(report.size()) && report.rfind("applied=", 0) == 0 ? 0 : 1);
      }
      ::close(out[1]);
      children.push_back({pid, out[0]});
    }
    ::close(go[0]);
    std::this_thread::sleep_for(200ms);  // let every child connect
    ::close(go[1]);                      // open the gate

    std::map<std::string, int> reports;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (auto& child : children) {
      std::string report;
      char buffer[512];
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{child.out, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        const auto n = ::read(child.out, buffer, sizeof buffer);
        if (n <= 0) break;
        report.append(buffer, static_cast<std::size_t>(n));
      }
      ::close(child.out);
      int status = 0;
      while (::waitpid(child.pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(child.pid, SIGKILL);
          ::waitpid(child.pid, &status, 0);
          report += " (killed: not done within 60 s)";
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
      CAPTURE(report);
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      ++reports[report];
    }

    // One process applied everything under the lock; the others found it done.
    const std::map<std::string, int> expected{{"applied=" + std::to_string(migrations.size()), 1},
                                              {"applied=0", kProcesses - 1}};
    std::string seen;
    for (const auto& [report, count] : reports) seen += std::to_string(count) + " x " + report + "; ";
    CAPTURE(seen);
    CHECK(reports == expected);
    CHECK(recorded(db.url()) == expected_rows(migrations));
    CHECK(oracle_scalar(db.url(), "SELECT count(*) FROM slow_done") == "1");
    CHECK(advisory_locks(db.url(), db.name()) == 0);
  }
}

#include "lib/pg/migrations.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "lib/pg/error.hpp"
#include "lib/pg/params.hpp"
#include "lib/pg/result.hpp"

namespace svc::pg {

namespace asio = boost::asio;

namespace {

constexpr std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

// The session-level advisory lock every migrating process takes first: any
// 64-bit number works as long as every build uses the same one; deriving it
// from the application's name keeps it from colliding with its other locks.
std::int64_t lock_key(std::string_view lock_name) { return static_cast<std::int64_t>(fnv1a64(lock_name)); }

// DB_STATEMENT_DEADLINE is for requests. A migration may build an index on a
// large table, and the lock wait lasts while another replica migrates: they
// get a bound of their own, generous but finite.
constexpr std::chrono::milliseconds kMigrationDeadline = std::chrono::minutes(15);

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version integer PRIMARY KEY, "
    "name text NOT NULL, "
    "checksum text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

// "0001" — the file name's spelling of a version.
std::string padded(int version) {
  std::string digits = std::to_string(version);
  if (version >= 0 && digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return digits;
}

// "0001_create_items" — how errors name a migration (its file name).
std::string label(int version, std::string_view name) { return padded(version) + "_" + std::string(name); }

void check_order(std::span<const Migration> migrations) {
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    const auto& prev = migrations[i - 1];
    const auto& cur = migrations[i];
    if (cur.version <= prev.version) {
      throw std::invalid_argument("migration versions must be unique and strictly increasing: " +
                                  label(cur.version, cur.name) + " follows " + label(prev.version, prev.name));
    }
  }
}

asio::awaitable<bool> table_exists(Connection& conn) {
  const Result r = co_await conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL", {}, kMigrationDeadline);
  co_return r.boolean(0, 0);
}

struct Applied {
  std::string name;
  std::string checksum;
};

asio::awaitable<std::map<int, Applied>> read_applied(Connection& conn) {
  const Result r = co_await conn.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version", {}, kMigrationDeadline);
  std::map<int, Applied> applied;
  for (std::size_t row = 0; row < r.rows(); ++row) {
    applied.emplace(r.int32(row, 0), Applied{std::string(r.text(row, 1)), std::string(r.text(row, 2))});
  }
  co_return applied;
}

// The failure of migration `m`, rethrown with its name in the message.
[[noreturn]] void rethrow_naming(const Migration& m, std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const PgError& e) {
    std::string message = "migration " + label(m.version, m.name) + " failed: " + e.message();
    if (!e.detail().empty()) message += " (" + e.detail() + ")";
    throw PgError(e.code_value(), std::move(message), e.sqlstate(), e.detail());
  }
  // Anything else (bad_alloc, ...) propagates unchanged from the try block.
}

// One migration in its own transaction, recorded in the same transaction.
asio::awaitable<void> apply_one(Connection& conn, const Migration& m, const std::string& checksum) {
  std::exception_ptr failure;
  try {
    co_await conn.execute("BEGIN", kMigrationDeadline);
    co_await conn.execute(m.sql, kMigrationDeadline);
    co_await conn.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1::integer, $2, $3)",
                        Params(m.version, m.name, checksum), kMigrationDeadline);
    co_await conn.execute("COMMIT", kMigrationDeadline);
  } catch (...) {
    failure = std::current_exception();  // no co_await in a handler: clean up below
  }
  if (!failure) co_return;
  if (conn.transaction_status() != Connection::TxStatus::idle) {
    bool rolled_back = false;
    try {
      co_await conn.execute("ROLLBACK", kMigrationDeadline);
      rolled_back = true;
    } catch (...) {
    }
    // A connection that cannot roll back must not be reused (the server
    // rolls back when it closes).
    if (!rolled_back) conn.mark_broken();
  }
  rethrow_naming(m, failure);
}

asio::awaitable<int> apply_locked(Connection& conn, std::span<const Migration> migrations, spdlog::logger& log) {
  using Clock = std::chrono::steady_clock;
  // Created only when missing (we hold the lock, so no one races us): IF NOT
  // EXISTS alone would log a server notice on every start.
  if (!co_await table_exists(conn)) co_await conn.execute(kCreateTable, kMigrationDeadline);
  const auto applied = co_await read_applied(conn);

  // Verify everything before changing anything.
  std::vector<const Migration*> pending;
  for (const auto& m : migrations) {
    const auto it = applied.find(m.version);
    if (it == applied.end()) {
      pending.push_back(&m);
      continue;
    }
    const std::string checksum = migration_checksum(m.sql);
    if (it->second.checksum != checksum) {
      throw PgError(errc::protocol, "migration " + label(m.version, m.name) +
                                        " was changed after it was applied (checksum " + it->second.checksum +
                                        " recorded, " + checksum + " now); add a new migration instead");
    }
    if (it->second.name != m.name) {
      log.warn("migration {} was applied as {}; the name changed, the SQL did not", label(m.version, m.name),
               label(m.version, it->second.name));
    }
  }
  for (const auto& [version, row] : applied) {
    const bool known = std::any_of(migrations.begin(), migrations.end(),
                                   [version = version](const Migration& m) { return m.version == version; });
    if (!known) {
      log.warn("schema_migrations has {}, which this build does not know (the database is newer than the binary)",
               label(version, row.name));
    }
  }

  const auto started = Clock::now();
  for (const Migration* m : pending) {
    const auto t0 = Clock::now();
    co_await apply_one(conn, *m, migration_checksum(m->sql));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    log.info("migration {} {} applied in {} ms", padded(m->version), m->name, ms);
  }
  const auto total_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  int latest = applied.empty() ? 0 : applied.rbegin()->first;
  if (!pending.empty()) latest = std::max(latest, pending.back()->version);
  if (pending.empty()) {
    log.info("migrations: schema up to date at version {} ({} applied earlier)", padded(latest), applied.size());
  } else {
    log.info("migrations: {} applied in {} ms, {} already applied; schema at version {}", pending.size(), total_ms,
             migrations.size() - pending.size(), padded(latest));
  }
  co_return static_cast<int>(pending.size());
}

}  // namespace

std::string migration_checksum(std::string_view sql) {
  static constexpr char digits[] = "0123456789abcdef";
  std::uint64_t hash = fnv1a64(sql);
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) hex[static_cast<std::size_t>(i)] = digits[hash & 0xf];
  return hex;
}

asio::awaitable<int> apply_migrations(Connection& conn, std::span<const Migration> migrations,
                                      std::string_view lock_name, spdlog::logger& log) {
  const std::int64_t key = lock_key(lock_name);
  check_order(migrations);
  int applied = 0;
  bool locked = false;
  std::exception_ptr failure;
  try {
    // DB_STATEMENT_TIMEOUT is for requests: waiting for another replica's
    // migration, or a migration building an index, may take longer.
    co_await conn.execute("SET statement_timeout = 0; SET lock_timeout = 0", kMigrationDeadline);
    // Waits (asynchronously: the socket is awaited) while another process migrates.
    co_await conn.query("SELECT pg_advisory_lock($1::bigint)", Params(key), kMigrationDeadline);
    locked = true;
    applied = co_await apply_locked(conn, migrations, log);
  } catch (...) {
    failure = std::current_exception();  // no co_await in a handler: clean up below, rethrow after
  }

  bool clean = false;
  try {
    if (locked) co_await conn.query("SELECT pg_advisory_unlock($1::bigint)", Params(key), kMigrationDeadline);
    co_await conn.execute("RESET statement_timeout; RESET lock_timeout", kMigrationDeadline);
    clean = true;
  } catch (...) {
  }
  if (!clean) {
    // The lock (possibly granted to an interrupted pg_advisory_lock) and the
    // settings belong to the session: closing the connection drops them.
    conn.mark_broken();
    log.warn("migrations: could not release the advisory lock and reset the session; the connection will be closed");
  }
  if (failure) std::rethrow_exception(failure);
  co_return applied;
}

asio::awaitable<std::vector<MigrationState>> migration_status(Connection& conn, std::span<const Migration> migrations) {
  check_order(migrations);
  struct Row {
    std::string name;
    std::string applied_at;
  };
  std::map<int, Row> applied;
  // Read-only: a database nobody migrated yet has no schema_migrations, and
  // asking must not create it.
  if (co_await table_exists(conn)) {
    const Result r = co_await conn.query(
        "SELECT version, name, "
        "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "FROM schema_migrations ORDER BY version", {}, kMigrationDeadline);
    for (std::size_t row = 0; row < r.rows(); ++row) {
      applied.emplace(r.int32(row, 0), Row{std::string(r.text(row, 1)), std::string(r.text(row, 2))});
    }
  }

  std::vector<MigrationState> states;
  states.reserve(migrations.size() + applied.size());
  for (const auto& m : migrations) {
    const auto it = applied.find(m.version);
    if (it == applied.end()) {
      states.push_back(MigrationState{m.version, std::string(m.name), false, ""});
    } else {
      states.push_back(MigrationState{m.version, std::string(m.name), true, it->second.applied_at});
      applied.erase(it);
    }
  }
  // Versions in the database that this build does not know (a newer binary
  // migrated it): listed too, so `migrate --status` tells the whole truth.
  for (auto& [version, row] : applied) {
    states.push_back(MigrationState{version, std::move(row.name), true, std::move(row.applied_at)});
  }
  std::sort(states.begin(), states.end(),
            [](const MigrationState& a, const MigrationState& b) { return a.version < b.version; });
  co_return states;
}

}  // namespace svc::pg

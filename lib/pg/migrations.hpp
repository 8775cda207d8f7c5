#pragma once
// Versioned schema migrations, applied in order, each in its own transaction,
// under a PostgreSQL advisory lock so that N replicas starting at once apply
// each migration exactly once. Applied versions (with a checksum of the SQL)
// are recorded in schema_migrations; an applied migration whose SQL changed
// is an error, never silently re-applied.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "lib/pg/connection.hpp"

namespace spdlog {
class logger;
}

namespace svc::pg {

struct Migration {
  int version;            // from the file name: 0001_create_items.sql → 1
  std::string_view name;  // "create_items"
  std::string_view sql;
};

struct MigrationState {
  int version;
  std::string name;
  bool applied;
  std::string applied_at;  // ISO 8601, "" if pending
};

// Returns how many migrations this call applied (0 if another process did).
// Throws PgError on failure (the failing migration is rolled back).
// `lock_name`: the application's (e.g. "myapp:migrations"), hashed into the
// advisory lock's key; every process migrating the same schema uses the same.
boost::asio::awaitable<int> apply_migrations(Connection& conn, std::span<const Migration> migrations,
                                             std::string_view lock_name, spdlog::logger& log);
boost::asio::awaitable<std::vector<MigrationState>> migration_status(Connection& conn,
                                                                     std::span<const Migration> migrations);

// A stable checksum of a migration's SQL (FNV-1a 64, hex).
std::string migration_checksum(std::string_view sql);

}  // namespace svc::pg

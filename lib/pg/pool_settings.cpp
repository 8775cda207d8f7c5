#include "lib/pg/pool_settings.hpp"

#include <stdexcept>

namespace svc::pg {

namespace {
constexpr config::Profile kPoolSize{10, 5, 1};
constexpr config::Profile kMaxOverflow{20, 10, 1};
// PoolSettings' own defaults are the prod profile.
static_assert(PoolSettings{}.size == kPoolSize.prod);
static_assert(PoolSettings{}.max_overflow == kMaxOverflow.prod);
constexpr std::string_view kUrlForm = "postgresql://user:password@host:port/dbname";

// A PostgreSQL URL variable: parsed, shown masked, its notes kept.
config::DatabaseUrl read_url(config::EnvReader& r, const config::Variable& v, const config::ReadContext& c,
                             const std::string& url) {
  config::DatabaseUrl out;
  try {
    out = config::parse_database_url(url);
  } catch (const std::invalid_argument& error) {
    throw config::ConfigError(v.name, config::error_line(v.name, config::masked_url(url),
                                                         "is not a PostgreSQL URL (expected " + v.expected +
                                                             "): " + error.what()));
  }
  r.record(v, out.sanitized());
  if (!out.ignored_driver.empty() && c.notes != nullptr)
    c.notes->push_back(v.name + ": driver suffix \"+" + out.ignored_driver + "\" ignored; using libpq");
  return out;
}
}  // namespace

const config::Section<config::DatabaseUrl>& database_section() {
  static const auto section = [] {
    config::Section<config::DatabaseUrl> s;
    s.add({"DATABASE_URL", "",
           "PostgreSQL URL " + std::string(kUrlForm) + "; postgres:// and postgresql+<driver>:// accepted", true,
           std::string(kUrlForm)},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext& c, config::DatabaseUrl& out) {
            out = read_url(r, v, c, r.required_string(v));
          });
    return s;
  }();
  return section;
}

const config::Section<PoolSettings>& pool_section() {
  static const auto section = [] {
    const PoolSettings d;
    config::Section<PoolSettings> s;
    s.integer("DB_POOL_SIZE", &PoolSettings::size, {1, 1000}, kPoolSize,
              "database connections kept open {range}; default by APP_ENV");
    s.integer("DB_MAX_OVERFLOW", &PoolSettings::max_overflow, {0, 1000}, kMaxOverflow,
              "extra connections under burst, closed when idle {range}; default by APP_ENV");
    s.seconds("DB_POOL_TIMEOUT", &PoolSettings::acquire_timeout, {0.01, 600},
              "seconds to wait for a free connection, then 503");
    s.integer("DB_POOL_MAX_WAITERS", &PoolSettings::max_waiters, {1, 1'000'000},
              "callers that may wait for a connection at once; more are answered 503 at once");
    s.boolean("DB_PRE_PING", &PoolSettings::pre_ping,
              "check a connection idle for over " + config::seconds_text(d.pre_ping_after) +
                  " s before handing it out (true|false)");
    s.seconds("DB_POOL_RECYCLE", &PoolSettings::recycle, {1, 86400}, "seconds a connection may live before it is replaced");
    s.seconds("DB_CONNECT_TIMEOUT", &PoolSettings::connect_timeout, {0.1, 600}, "seconds allowed to open a connection");
    s.seconds("DB_STATEMENT_TIMEOUT", &PoolSettings::statement_timeout, {0, 86400},
              "statement_timeout in seconds {range}; 0 = server default");
    s.seconds("DB_STATEMENT_DEADLINE", &PoolSettings::statement_deadline, {0.01, 3600},
              "seconds a statement may take, waiting included, before its caller gets 504 (a connection whose oldest "
              "statement passes it is replaced)");
    s.seconds("DB_TCP_USER_TIMEOUT", &PoolSettings::tcp_user_timeout, {0, 3600},
              "seconds unacknowledged data may wait before the database socket is dropped {range}; 0 = the kernel's "
              "default");
    s.integer("DB_PIPELINE_CONNECTIONS", &PoolSettings::pipeline_connections, {1, 64},
              "pipelined connections per event loop for single statements");
    s.integer("DB_PIPELINE_DEPTH", &PoolSettings::pipeline_depth, {1, 1024},
              "statements in flight per pipelined connection; more wait");
    s.boolean("DB_PIPELINE_BATCH_READS", &PoolSettings::pipeline_batch_reads,
              "let read-only statements share a pipeline sync (true|false); a read aborted by another's error is sent "
              "again alone");
    s.boolean("DB_PREPARED_STATEMENTS", &PoolSettings::prepared_statements,
              "cache prepared statements per connection (true|false); false for PgBouncer transaction mode");
    s.boolean("DB_FAIL_FAST", &PoolSettings::fail_fast,
              "exit 1 if the database is unreachable at start-up, after DB_CONNECT_TIMEOUT (true|false); false = "
              "start, not ready, keep reconnecting");
    s.seconds("DB_RECONNECT_BACKOFF_MAX", &PoolSettings::reconnect_backoff_max, {0.05, 60},
              "longest pause between reconnection attempts, in seconds");
    return s;
  }();
  return section;
}

const config::Section<MigrationSettings>& migrations_section() {
  static const auto section = [] {
    config::Section<MigrationSettings> s;
    s.add({"MIGRATIONS_DATABASE_URL", "(none)",
           "PostgreSQL URL for schema migrations (advisory lock, SET), direct to PostgreSQL when DATABASE_URL goes "
           "through PgBouncer in transaction mode; unset: DATABASE_URL",
           true, std::string(kUrlForm)},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext& c, MigrationSettings& out) {
            const auto url = r.raw(v.name);
            if (!url) {
              r.record(v, "(unset)");
              return;
            }
            out.url = read_url(r, v, c, *url);
          });
    s.seconds("MIGRATIONS_LOCK_TIMEOUT", &MigrationSettings::lock_timeout, {0.1, 3600},
              "seconds to wait for another process's migration (the advisory lock) before this attempt gives up "
              "and retries in the background, not ready meanwhile");
    return s;
  }();
  return section;
}

}  // namespace svc::pg

#pragma once
// The pool's knobs, as a plain struct of named durations (Boost.MySQL's
// pool_params style), the migrations' own, and the sections that read them,
// DATABASE_URL and MIGRATIONS_DATABASE_URL.

#include <chrono>
#include <cstddef>
#include <optional>

#include "lib/config/database_url.hpp"
#include "lib/config/section.hpp"

namespace svc::pg {

struct PoolSettings {
  std::size_t size = 10;          // DB_POOL_SIZE: connections kept
  std::size_t max_overflow = 20;  // DB_MAX_OVERFLOW: extra under burst, closed when idle
  std::chrono::milliseconds acquire_timeout{5'000};     // DB_POOL_TIMEOUT: then 503
  std::size_t max_waiters = 1024;                       // DB_POOL_MAX_WAITERS: more callers are refused at once (503)
  bool pre_ping = true;                                 // DB_PRE_PING
  std::chrono::milliseconds pre_ping_after{1'000};      // idle longer than this → ping first
  std::chrono::milliseconds recycle{30 * 60 * 1'000};   // DB_POOL_RECYCLE: max lifetime
  std::chrono::milliseconds connect_timeout{5'000};     // DB_CONNECT_TIMEOUT
  std::chrono::milliseconds statement_timeout{0};       // DB_STATEMENT_TIMEOUT; 0 = server default
  std::chrono::milliseconds statement_deadline{5'000};  // DB_STATEMENT_DEADLINE: client-side bound on every statement
  std::chrono::milliseconds tcp_user_timeout{10'000};   // DB_TCP_USER_TIMEOUT; 0 = off
  std::size_t pipeline_connections = 1;  // DB_PIPELINE_CONNECTIONS: pipelined connections per event loop
  std::size_t pipeline_depth = 64;       // DB_PIPELINE_DEPTH: statements in flight per pipelined connection
  bool pipeline_batch_reads = true;      // DB_PIPELINE_BATCH_READS: read-only statements may share a Sync
  bool pipeline_cork = true;             // TCP_CORK around a turn's writes (a knob for scripts/bench-db only)
  std::chrono::milliseconds reconnect_backoff_max{500};  // DB_RECONNECT_BACKOFF_MAX: readiness within 1 s of recovery
  std::chrono::milliseconds health_cache{1'000};        // /ready reuses a SELECT 1 this young
  bool prepared_statements = true;  // DB_PREPARED_STATEMENTS=false for PgBouncer transaction mode
  bool fail_fast = false;           // DB_FAIL_FAST: exit 1 if the database is down at start-up
};

// Schema migrations take a session-level advisory lock and run SET: they
// need a connection of their own, direct to PostgreSQL when DATABASE_URL goes
// through PgBouncer in transaction mode.
struct MigrationSettings {
  std::optional<config::DatabaseUrl> url;          // MIGRATIONS_DATABASE_URL; unset: DATABASE_URL
  std::chrono::milliseconds lock_timeout{30'000};  // MIGRATIONS_LOCK_TIMEOUT: waiting for another replica's migration
};

const config::Section<config::DatabaseUrl>& database_section();  // DATABASE_URL
const config::Section<PoolSettings>& pool_section();             // DB_*; sizes default by APP_ENV
const config::Section<MigrationSettings>& migrations_section();  // MIGRATIONS_*

}  // namespace svc::pg

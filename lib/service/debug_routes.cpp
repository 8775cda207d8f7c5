#include "lib/service/debug_routes.hpp"

#include <unistd.h>

#include <fstream>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "lib/pg/error.hpp"

namespace svc::service {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// procfs is memory-backed: reading it does not block like disk I/O would.
std::int64_t process_threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoll(line.substr(8));
  return -1;
}

std::string version_text(int v) {
  // 150018 → "15.18"
  return v <= 0 ? std::string("unknown") : std::to_string(v / 10000) + "." + std::to_string(v % 10000);
}

json::object pool_json(const pg::PoolStats& s) {
  return json::object{{"size", s.size},
                      {"checked_out", s.checked_out},
                      {"idle", s.idle},
                      {"overflow", s.overflow},
                      {"connecting", s.connecting},
                      {"waiting", s.waiting},
                      {"max", s.max},
                      {"pipelined", s.pipelined},
                      {"statements_in_flight", s.statements_in_flight},
                      {"statements_waiting", s.statements_waiting},
                      {"statements_total", s.statements_total},
                      {"statement_failures_total", s.statement_failures_total},
                      {"deadline_failures_total", s.deadline_failures_total},
                      {"dead_connections_total", s.dead_connections_total},
                      {"statements_retried_total", s.statements_retried_total},
                      {"created_total", s.created_total},
                      {"failed_total", s.failed_total},
                      {"invalidated_total", s.invalidated_total},
                      {"timeouts_total", s.timeouts_total},
                      {"acquired_total", s.acquired_total},
                      {"wait_seconds_total", s.wait_seconds_total},
                      {"wait_seconds_max", s.wait_seconds_max},
                      {"healthy", s.healthy}};
}

json::object profile_json(const Settings& st) {
  const auto& p = st.pool;
  auto secs = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; };
  return json::object{{"app_env", config::to_string(st.app_env)},
                      {"pool_size", p.size},
                      {"max_overflow", p.max_overflow},
                      {"pool_timeout_seconds", secs(p.acquire_timeout)},
                      {"pre_ping", p.pre_ping},
                      {"pool_recycle_seconds", secs(p.recycle)},
                      {"connect_timeout_seconds", secs(p.connect_timeout)},
                      {"statement_timeout_seconds", secs(p.statement_timeout)},
                      {"statement_deadline_seconds", secs(p.statement_deadline)},
                      {"pipeline_connections_per_loop", p.pipeline_connections},
                      {"pipeline_depth", p.pipeline_depth},
                      {"pipeline_batch_reads", p.pipeline_batch_reads},
                      {"prepared_statements", p.prepared_statements},
                      {"fail_fast", p.fail_fast}};
}

// The database's own view, in one statement; {"error": ...} when it cannot answer.
asio::awaitable<json::object> server_json(pg::Pool& pool) {
  try {
    auto r = co_await pool.query(
        "SELECT now(), pg_is_in_recovery(), "
        "(SELECT count(*) FROM pg_stat_activity WHERE application_name = current_setting('application_name'))",
        {}, {.read_only = true});
    co_return json::object{{"time", std::string(r.text(0, 0))},
                           {"in_recovery", r.boolean(0, 1)},
                           {"backends_of_this_name", r.int64(0, 2)}};
  } catch (const pg::PgError& e) {
    co_return json::object{{"error", e.what()}};
  }
}

}  // namespace

void add_debug_db_route(http::Router& router, const http::ApiKeyAuth& auth, const Settings& settings, pg::Pool& pool,
                        const pg::SchemaMigrator& migrator) {
  http::RouteDoc doc{"Pool and database state",
                     "The pool's counters, its settings, the schema's state and the database's own view of this "
                     "service. The URL is shown without its password.",
                     {"observability"},
                     true,
                     {},
                     {{200, "The state.",
                       json::object{{"type", "object"},
                                    {"required", json::array{"connected", "schema_migrated", "pool"}},
                                    {"properties", json::object{{"connected", json::object{{"type", "boolean"}}},
                                                                {"schema_migrated", json::object{{"type", "boolean"}}},
                                                                {"pool", json::object{{"type", "object"}}},
                                                                {"profile", json::object{{"type", "object"}}},
                                                                {"server", json::object{{"type", "object"}}}}}}}}};
  router.add(http::Verb::get, "/debug/db", std::move(doc),
             [&auth, &settings, &pool, &migrator](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
               auth.require(ctx);
               const auto stats = pool.stats();
               json::object body{{"process_id", static_cast<std::int64_t>(::getpid())},
                                 {"thread_count", process_threads()},
                                 {"io_threads", settings.threads},
                                 {"database_url", settings.database.sanitized()},
                                 {"migrations_database_url",
                                  settings.migrations.url.value_or(settings.database).sanitized()},
                                 {"server_version", version_text(pool.server_version())},
                                 {"connected", stats.healthy},
                                 {"schema_migrated", migrator.applied()},
                                 {"profile", profile_json(settings)},
                                 {"pool", pool_json(stats)}};
               if (!stats.last_error.empty()) body["last_error"] = stats.last_error;
               if (stats.healthy) body["server"] = co_await server_json(pool);
               co_return http::json_response(http::Status::ok, body);
             });
}

void add_debug_leases_route(http::Router& router, const http::ApiKeyAuth& auth, pg::LeaseTable& leases) {
  const json::object text{{"type", "string"}};
  const json::object flag{{"type", "boolean"}};
  const json::object lease{{"type", "object"},
                           {"required", json::array{"name", "holder", "mine", "expired"}},
                           {"properties", json::object{{"name", text},
                                                       {"holder", text},
                                                       {"mine", flag},
                                                       {"expired", flag},
                                                       {"expires_in_seconds", json::object{{"type", "number"}}},
                                                       {"acquired_at", text},
                                                       {"renewed_at", text}}}};
  const json::object answer{{"type", "object"},
                            {"required", json::array{"holder", "leases"}},
                            {"properties", json::object{{"holder", text},
                                                        {"leases", json::object{{"type", "array"}, {"items", lease}}}}}};
  http::RouteDoc doc{"Leases across the replicas",
                     "Who holds each once-only job (the names are the application's) in the shared `leases` table, as "
                     "this replica reads it, and which of them are its own.",
                     {"observability"},
                     true,
                     {},
                     {{200, "The leases.", answer}}};
  router.add(http::Verb::get, "/debug/leases", std::move(doc), [&auth, &leases](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auth.require(ctx);
    // A database error becomes the server's 503/504 like any other route's.
    const auto rows = co_await leases.list();
    json::array items;
    for (const auto& row : rows) {
      items.push_back(json::object{{"name", row.name},
                                   {"holder", row.holder},
                                   {"mine", row.holder == leases.holder()},
                                   {"expired", row.remaining.count() == 0},
                                   {"expires_in_seconds", static_cast<double>(row.remaining.count()) / 1000.0},
                                   {"acquired_at", pg::format_timestamp(row.acquired_at)},
                                   {"renewed_at", pg::format_timestamp(row.renewed_at)}});
    }
    co_return http::json_response(http::Status::ok, json::object{{"holder", leases.holder()}, {"leases", std::move(items)}});
  });
}

}  // namespace svc::service

#include "app/routes.hpp"

#include <unistd.h>

#include <fstream>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "app/app_state.hpp"
#include "lib/pg/pool_settings.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace http = svc::http;
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

json::object pool_json(const svc::pg::PoolStats& s) {
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

json::object profile_json(const svc::config::Settings& st) {
  const auto& p = st.pool;
  auto secs = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; };
  return json::object{{"app_env", svc::config::to_string(st.app_env)},
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

}  // namespace

void add_routes(AppState& app) {
  app.router.add(http::Verb::get, "/",
                 [body = json::serialize(json::object{{"message", "P2P Dashboard API is running!"}})](
                     http::RequestContext&) -> asio::awaitable<http::Response> {
                   co_return http::text_response(http::Status::ok, body, "application/json");
                 });

  app.router.add(http::Verb::get, "/debug/db", [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    app.auth.require(ctx);
    auto stats = app.pool.stats();
    json::object body{{"process_id", static_cast<std::int64_t>(::getpid())},
                      {"thread_count", process_threads()},
                      {"io_threads", app.settings.threads},
                      {"database_url", app.settings.database.sanitized()},
                      {"server_version", version_text(app.pool.server_version())},
                      {"connected", stats.healthy},
                      {"schema_migrated", app.migrator.applied()},
                      {"profile", profile_json(app.settings)},
                      {"pool", pool_json(stats)}};
    if (!stats.last_error.empty()) body["last_error"] = stats.last_error;
    co_return http::json_response(http::Status::ok, body);
  });
}

}  // namespace p2p

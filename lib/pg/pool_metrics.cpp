#include "lib/pg/pool_metrics.hpp"

#include "lib/pg/pool.hpp"

namespace svc::pg {

using telemetry::Label;
using telemetry::MetricType;
using telemetry::TextWriter;

void add_pool_metrics(telemetry::Registry& registry, const pg::Pool& pool, std::string_view pool_name) {
  registry.add_collector([&pool, name = std::string(pool_name)](TextWriter& out) {
    auto s = pool.stats();
    const Label pool_label{"pool_name", name};
    const Label idle[] = {pool_label, {"state", "idle"}};
    const Label used[] = {pool_label, {"state", "used"}};
    const Label pipelined[] = {pool_label, {"state", "pipelined"}};
    const Label just_pool[] = {pool_label};
    out.family("db_client_connections_usage", MetricType::gauge,
               "Open connections by state (idle|used|pipelined: carrying the shared statement path).");
    out.sample("db_client_connections_usage", idle, static_cast<double>(s.idle));
    out.sample("db_client_connections_usage", used, static_cast<double>(s.checked_out));
    out.sample("db_client_connections_usage", pipelined, static_cast<double>(s.pipelined));
    out.family("db_client_statements_in_flight", MetricType::gauge,
               "Statements on pipelined connections, sent or about to be.");
    out.sample("db_client_statements_in_flight", just_pool, static_cast<double>(s.statements_in_flight));
    out.family("db_client_statements_waiting", MetricType::gauge,
               "Statements waiting for room on a pipelined connection (DB_PIPELINE_DEPTH).");
    out.sample("db_client_statements_waiting", just_pool, static_cast<double>(s.statements_waiting));
    out.family("db_client_statements_total", MetricType::counter, "Statements submitted on the shared path.");
    out.sample("db_client_statements_total", just_pool, static_cast<double>(s.statements_total));
    out.family("db_client_statement_failures_total", MetricType::counter,
               "Statements on the shared path answered with an error (SQL errors included).");
    out.sample("db_client_statement_failures_total", just_pool, static_cast<double>(s.statement_failures_total));
    out.family("db_client_statement_deadline_failures_total", MetricType::counter,
               "Statements that passed DB_STATEMENT_DEADLINE.");
    out.sample("db_client_statement_deadline_failures_total", just_pool,
               static_cast<double>(s.deadline_failures_total));
    out.family("db_client_dead_connections_total", MetricType::counter,
               "Pipelined connections replaced because their oldest statement passed its deadline.");
    out.sample("db_client_dead_connections_total", just_pool, static_cast<double>(s.dead_connections_total));
    out.family("db_client_connections_max", MetricType::gauge, "Maximum number of open connections allowed.");
    out.sample("db_client_connections_max", just_pool, static_cast<double>(s.max));
    out.family("db_client_connections_pending_requests", MetricType::gauge,
               "Requests waiting for an open connection.");
    out.sample("db_client_connections_pending_requests", just_pool, static_cast<double>(s.waiting));
    out.family("db_client_connections_timeouts_total", MetricType::counter,
               "Connection acquires that timed out (DB_POOL_TIMEOUT).");
    out.sample("db_client_connections_timeouts_total", just_pool, static_cast<double>(s.timeouts_total));
    out.family("db_client_connections_wait_time_seconds", MetricType::histogram,
               "Time it took to obtain an open connection from the pool.");
    out.histogram("db_client_connections_wait_time_seconds", just_pool, telemetry::kDurationBuckets, s.wait_buckets,
                  s.wait_seconds_total);
  });
}

}  // namespace svc::pg

#pragma once
// The pool in /metrics: db_client_connections_{usage{state=idle|used|pipelined},
// max,pending_requests,timeouts_total,wait_time_seconds}{pool_name} and the
// statement path's db_client_statement* families, from Pool::stats(): OTel
// db.client.connections.* in Prometheus form (the older semconv names: the
// newer db_client_connection_count ends in _count, which Prometheus reserves
// for histograms and promtool rejects).

#include <string_view>

#include "lib/telemetry/metrics.hpp"

namespace svc::pg {

class Pool;

void add_pool_metrics(telemetry::Registry& registry, const Pool& pool, std::string_view pool_name);

}  // namespace svc::pg

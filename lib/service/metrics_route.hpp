#pragma once
// GET /metrics: the registry in Prometheus text format 0.0.4. No API key
// (like the probes): it carries no secrets and no label holds user input
// beyond route templates, methods and status codes.

#include "lib/http/router.hpp"
#include "lib/telemetry/metrics.hpp"

namespace svc::service {

void add_metrics_route(http::Router& router, const telemetry::Registry& registry);

}  // namespace svc::service

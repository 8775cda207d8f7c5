#pragma once
// Kubernetes probes: /health and /livez (liveness: the process serves; never
// touches a dependency) and /ready and /readyz (readiness: phase + checks).

#include "lib/http/router.hpp"
#include "lib/lifecycle/readiness.hpp"

namespace svc::lifecycle {

void add_probe_routes(http::Router& router, const Readiness& readiness);

}  // namespace svc::lifecycle

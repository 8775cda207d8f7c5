#pragma once
// Kubernetes probes: /health and /livez (liveness: the process serves; never
// touches a dependency) and /ready and /readyz (readiness: phase + checks).

#include "lib/http/router.hpp"
#include "lib/lifecycle/readiness.hpp"

namespace svc::service {

void add_probe_routes(http::Router& router, const lifecycle::Readiness& readiness);

}  // namespace svc::service

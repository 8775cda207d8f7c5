#pragma once
// /metrics for a LeaseTable: which leases this process holds, who it last
// saw holding each, and how often each changed hands here.

#include "lib/telemetry/metrics.hpp"

namespace svc::pg {

class LeaseTable;

// `leases` must outlive the registry's collections.
void add_lease_metrics(telemetry::Registry& registry, const LeaseTable& leases);

}  // namespace svc::pg

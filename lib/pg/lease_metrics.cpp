#include "lib/pg/lease_metrics.hpp"

#include "lib/pg/lease.hpp"

namespace svc::pg {

using telemetry::Label;
using telemetry::MetricType;
using telemetry::TextWriter;

void add_lease_metrics(telemetry::Registry& registry, const LeaseTable& leases) {
  registry.add_collector([&leases](TextWriter& out) {
    const auto known = leases.known();
    out.family("lease_held", MetricType::gauge, "1 while this process holds the lease, else 0.");
    for (const auto& [name, k] : known) out.sample("lease_held", {{"name", name}}, k.held ? 1 : 0);
    out.family("lease_holder", MetricType::gauge,
               "1 for the holder this process last saw holding the lease (none: nobody).");
    for (const auto& [name, k] : known)
      out.sample("lease_holder", {{"name", name}, {"holder", k.holder.empty() ? "none" : k.holder}}, 1);
    out.family("lease_acquired_total", MetricType::counter, "Times this process took the lease.");
    for (const auto& [name, k] : known)
      out.sample("lease_acquired_total", {{"name", name}}, static_cast<double>(k.acquired_total));
    out.family("lease_lost_total", MetricType::counter,
               "Times the lease stopped being this process's without a release (taken over, expired).");
    for (const auto& [name, k] : known) out.sample("lease_lost_total", {{"name", name}}, static_cast<double>(k.lost_total));
  });
}

}  // namespace svc::pg

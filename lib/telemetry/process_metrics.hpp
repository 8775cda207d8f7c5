#pragma once
// Collectors of the process itself, read at each /metrics request.

#include <string_view>

#include "lib/telemetry/metrics.hpp"

namespace svc::telemetry {

// process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total,
// process_start_time_seconds (procfs, memory-backed: no disk I/O).
void add_process_metrics(Registry& registry);
// build_info{service, version, git_commit} 1.
void add_build_info(Registry& registry, std::string_view service, std::string_view version,
                    std::string_view git_commit);

}  // namespace svc::telemetry

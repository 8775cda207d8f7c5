#pragma once
// Knobs of the telemetry writer and the access log (TELEMETRY_*, ACCESS_LOG).

#include <chrono>
#include <cstddef>

namespace svc::telemetry {

struct TelemetrySettings {
  bool enabled = true;                      // TELEMETRY_ENABLED
  bool async_writes = true;                 // TELEMETRY_ASYNC_WRITES=false: written before the response
  std::size_t queue_capacity = 10'000;      // TELEMETRY_QUEUE_CAPACITY: events beyond are dropped
  std::size_t batch_size = 2'000;           // TELEMETRY_BATCH_SIZE: rows per COPY
  std::chrono::milliseconds flush_interval{1'000};  // TELEMETRY_FLUSH_MS
  bool access_log = false;                  // ACCESS_LOG: one log line per request
};

}  // namespace svc::telemetry

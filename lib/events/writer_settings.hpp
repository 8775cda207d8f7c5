#pragma once
// Knobs of the event writer (TELEMETRY_*).

#include <chrono>
#include <cstddef>

#include "lib/config/section.hpp"

namespace svc::events {

struct WriterSettings {
  bool enabled = true;                      // TELEMETRY_ENABLED
  bool async_writes = true;                 // TELEMETRY_ASYNC_WRITES=false: written before the response
  std::size_t queue_capacity = 10'000;      // TELEMETRY_QUEUE_CAPACITY: events beyond are dropped
  std::size_t batch_size = 2'000;           // TELEMETRY_BATCH_SIZE: rows per COPY, at most
  std::size_t batch_min = 250;              // TELEMETRY_BATCH_MIN: queued rows that start a COPY
  std::chrono::milliseconds flush_interval{1'000};  // TELEMETRY_FLUSH_MS
  // TELEMETRY_SYNC_WAIT_MS: with async_writes off, the longest a response
  // waits for its event; then it is sent, and the event stays queued.
  std::chrono::milliseconds sync_wait{1'000};
};

const config::Section<WriterSettings>& writer_section();

}  // namespace svc::events

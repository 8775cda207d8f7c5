#include "lib/events/writer_settings.hpp"

namespace svc::events {

namespace {

// A duration in milliseconds, 1 to 600000.
void milliseconds(config::Section<WriterSettings>& s, std::string name, std::chrono::milliseconds WriterSettings::*field,
                  const std::string& help) {
  s.add({std::move(name), std::to_string((WriterSettings{}.*field).count()), help + ", in ms (1-600000)"},
        [field](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, WriterSettings& out) {
          out.*field = std::chrono::milliseconds(r.integer(v, (out.*field).count(), 1, 600'000));
        });
}

}  // namespace

const config::Section<WriterSettings>& writer_section() {
  static const auto section = [] {
    config::Section<WriterSettings> s;
    s.boolean("TELEMETRY_ENABLED", &WriterSettings::enabled,
              "write an event per request (and the application's events) to the event table (true|false)");
    s.boolean("TELEMETRY_ASYNC_WRITES", &WriterSettings::async_writes,
              "batch events in the background (true) or write each before its response (false)");
    s.integer("TELEMETRY_QUEUE_CAPACITY", &WriterSettings::queue_capacity, {1, 10'000'000},
              "events held while unwritten; beyond that dropped and counted");
    s.integer("TELEMETRY_BATCH_SIZE", &WriterSettings::batch_size, {1, 5'000}, "events per COPY, at most");
    s.integer("TELEMETRY_BATCH_MIN", &WriterSettings::batch_min, {1, 5'000},
              "events queued that start a COPY (capped by TELEMETRY_BATCH_SIZE); it takes all that wait, up to "
              "TELEMETRY_BATCH_SIZE");
    milliseconds(s, "TELEMETRY_FLUSH_MS", &WriterSettings::flush_interval, "longest an event waits for its batch");
    milliseconds(s, "TELEMETRY_SYNC_WAIT_MS", &WriterSettings::sync_wait,
                 "with TELEMETRY_ASYNC_WRITES=false, longest a response waits for its event to be written (then it "
                 "is sent and the event stays queued)");
    return s;
  }();
  return section;
}

}  // namespace svc::events

#include "lib/events/writer_settings.hpp"

namespace svc::events {

const config::Section<WriterSettings>& writer_section() {
  static const auto section = [] {
    config::Section<WriterSettings> s;
    s.boolean("TELEMETRY_ENABLED", &WriterSettings::enabled,
              "write an event per request (and the application's events) to the event table (true|false)");
    s.boolean("TELEMETRY_ASYNC_WRITES", &WriterSettings::async_writes,
              "batch events in the background (true) or write each before its response (false)");
    s.integer("TELEMETRY_QUEUE_CAPACITY", &WriterSettings::queue_capacity, {1, 10'000'000},
              "events held while unwritten; beyond that dropped and counted");
    s.integer("TELEMETRY_BATCH_SIZE", &WriterSettings::batch_size, {1, 5'000}, "events per COPY");
    s.add({"TELEMETRY_FLUSH_MS", std::to_string(WriterSettings{}.flush_interval.count()),
           "longest an event waits for its batch, in ms (1-600000)"},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, WriterSettings& out) {
            out.flush_interval = std::chrono::milliseconds(r.integer(v, out.flush_interval.count(), 1, 600'000));
          });
    return s;
  }();
  return section;
}

}  // namespace svc::events

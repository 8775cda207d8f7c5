#include "lib/lifecycle/lifecycle_settings.hpp"

#include <algorithm>
#include <thread>

namespace svc::lifecycle {

const config::Section<LoopSettings>& loops_section() {
  static const auto section = [] {
    constexpr config::IntegerRange range{0, 256};
    config::Section<LoopSettings> s;
    s.add({"THREADS", std::to_string(LoopSettings{}.threads),
           "event loops, one thread each " + range.text() + "; 0 = hardware concurrency"},
          [range](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, LoopSettings& out) {
            const auto requested = r.integer(v, out.threads, range.min, range.max);
            out.threads = requested > 0 ? static_cast<unsigned>(requested) : std::max(1u, std::thread::hardware_concurrency());
            r.record(v, std::to_string(out.threads));  // shown as it is used
          });
    return s;
  }();
  return section;
}

const config::Section<ShutdownSettings>& shutdown_section() {
  static const auto section = [] {
    constexpr config::SecondsRange range{0, 3600};
    config::Section<ShutdownSettings> s;
    s.seconds("SHUTDOWN_DRAIN_SECONDS", &ShutdownSettings::drain, range,
              "after SIGTERM, seconds to keep serving while not ready");
    s.seconds("SHUTDOWN_GRACE_SECONDS", &ShutdownSettings::grace, range,
              "then, seconds to wait for in-flight requests");
    return s;
  }();
  return section;
}

}  // namespace svc::lifecycle

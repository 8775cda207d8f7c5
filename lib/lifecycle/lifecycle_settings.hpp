#pragma once
// The process's shape: its event loops (THREADS) and its shutdown
// (SHUTDOWN_DRAIN_SECONDS, SHUTDOWN_GRACE_SECONDS).

#include <chrono>

#include "lib/config/section.hpp"

namespace svc::lifecycle {

struct ShutdownSettings {
  std::chrono::milliseconds drain{5'000};   // ready=false but still serving
  std::chrono::milliseconds grace{20'000};  // bound on waiting for in-flight work
};

struct LoopSettings {
  unsigned threads = 0;  // 0 is resolved to the hardware concurrency when read
};

const config::Section<LoopSettings>& loops_section();          // THREADS
const config::Section<ShutdownSettings>& shutdown_section();  // SHUTDOWN_*

}  // namespace svc::lifecycle

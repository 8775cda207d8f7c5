#pragma once
// The single structured root task of the process (see ARCHITECTURE.md):
// start components in order → ready → await SIGTERM/SIGINT or a fatal stop
// request → not ready, keep serving for the drain window → stop components in
// reverse. A second signal during shutdown exits at once with code 130.

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>

#include "lib/lifecycle/lifecycle_settings.hpp"
#include "lib/core/async_event.hpp"
#include "lib/lifecycle/component.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/lifecycle/stop_deadline.hpp"

namespace spdlog {
class logger;
}

namespace svc::lifecycle {

class Lifecycle {
 public:
  // Installs the signal handlers at once, so a signal that arrives before
  // run() starts is not lost to the default action.
  Lifecycle(const boost::asio::any_io_executor& executor, spdlog::logger& log, Readiness& readiness,
            ShutdownSettings shutdown);

  void add(Component& component);

  // Asks run() to shut down as if signalled because a component hit a fatal
  // error; run() then returns `exit_code`. Thread-safe.
  void request_stop(std::string reason, int exit_code = 1);

  // Returns the process exit code: 0 after a signalled shutdown (also one
  // during start-up), 1 if a critical component failed to start, or what
  // request_stop() asked for.
  boost::asio::awaitable<int> run();

 private:
  // false: a critical component failed, or a signal cancelled start-up.
  boost::asio::awaitable<bool> start_all();
  boost::asio::awaitable<void> await_stop_cause();
  boost::asio::awaitable<void> shut_down();
  boost::asio::awaitable<void> exit_on_second_signal();
  boost::asio::awaitable<void> stop_started();

  boost::asio::any_io_executor executor_;
  spdlog::logger& log_;
  Readiness& readiness_;
  ShutdownSettings shutdown_;
  StopDeadline& stop_deadline_;  // the executor's context's: begun at the stop cause
  boost::asio::signal_set signals_;
  core::AsyncEvent stop_requested_;
  std::string stop_reason_;  // written before stop_requested_.set()
  int exit_code_ = 0;        // likewise
  std::vector<Component*> components_;
  std::vector<Component*> started_;
  Component* starting_ = nullptr;  // whose start() is in flight
};

}  // namespace svc::lifecycle

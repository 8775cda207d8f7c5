#pragma once
// The one time budget of a shutdown, kept by the io_context the components
// run on (an execution_context service: one per context, no global).
// Lifecycle begins it at the stop cause (a signal or a fatal request): the
// *shared* deadline is SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_GRACE_SECONDS later,
// the *hard* deadline kMargin after that. Every component that stops after
// the listener bounds its waits by it instead of adding a bound of its own
// after the others', so the whole shutdown fits drain + grace + kMargin
// however many components wait, and whatever THREADS is.
//
// Thread-safe: written once (begin), read by stop() coroutines on any loop.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

#include <boost/asio/execution_context.hpp>

namespace svc::lifecycle {

class StopDeadline final : public boost::asio::execution_context::service {
 public:
  using Clock = std::chrono::steady_clock;
  // What unwinding may take after the shared deadline: the listener's 2 s
  // for the sessions it cancels there, then what the later components
  // cancelled (a recovery's cancel request, a flush cut short) need to end.
  static constexpr auto kMargin = std::chrono::seconds(5);

  // The one of `context`, made on first use.
  static StopDeadline& of(boost::asio::execution_context& context);

  // Lifecycle, once: the shared deadline is `budget` from now.
  void begin(Clock::duration budget) noexcept;
  bool begun() const noexcept;

  // When a wait that a component would give `own` from now ends: not before
  // the shared deadline (the grace is every component's to use), never later
  // than the hard deadline less `keep` (what the component still needs after
  // the wait: its own unwinding). Before begin() (a component stopped on its
  // own: tests, a failed start-up), `own` from now.
  Clock::time_point wait_until(Clock::duration own, Clock::duration keep = Clock::duration::zero()) const noexcept;
  // `own` from now, never past the hard deadline: unwinding after a cancellation.
  Clock::time_point unwind_until(Clock::duration own) const noexcept;

  // For use_service.
  static boost::asio::execution_context::id id;
  explicit StopDeadline(boost::asio::execution_context& context);

 private:
  void shutdown() override {}

  static constexpr std::int64_t kUnset = std::numeric_limits<std::int64_t>::min();
  std::atomic<std::int64_t> shared_{kUnset};  // Clock ticks
};

}  // namespace svc::lifecycle

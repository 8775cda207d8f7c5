#include "lib/lifecycle/stop_deadline.hpp"

#include <algorithm>

namespace svc::lifecycle {

boost::asio::execution_context::id StopDeadline::id;

StopDeadline::StopDeadline(boost::asio::execution_context& context) : service(context) {}

StopDeadline& StopDeadline::of(boost::asio::execution_context& context) {
  return boost::asio::use_service<StopDeadline>(context);
}

void StopDeadline::begin(Clock::duration budget) noexcept {
  std::int64_t unset = kUnset;
  shared_.compare_exchange_strong(unset, (Clock::now() + budget).time_since_epoch().count());
}

bool StopDeadline::begun() const noexcept { return shared_.load() != kUnset; }

StopDeadline::Clock::time_point StopDeadline::wait_until(Clock::duration own, Clock::duration keep) const noexcept {
  const auto now = Clock::now();
  const auto shared = shared_.load();
  if (shared == kUnset) return now + own;
  const Clock::time_point at{Clock::duration(shared)};
  return std::min(std::max(at, now + own), at + kMargin - keep);
}

StopDeadline::Clock::time_point StopDeadline::unwind_until(Clock::duration own) const noexcept {
  const auto now = Clock::now();
  const auto shared = shared_.load();
  if (shared == kUnset) return now + own;
  return std::min(now + own, Clock::time_point{Clock::duration(shared)} + kMargin);
}

}  // namespace svc::lifecycle

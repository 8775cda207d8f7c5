#pragma once
// A part of the service with a start and a stop, run by Lifecycle: started in
// registration order, stopped in reverse.

#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace svc::lifecycle {

enum class Criticality {
  critical,  // start-up fails without it
  optional,  // a failed start is logged, reported "degraded", and the service runs on
};

class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view name() const = 0;
  virtual Criticality criticality() const { return Criticality::critical; }
  // Throws to report failure, and then leaves nothing running: stop() is
  // only called for components whose start() succeeded.
  virtual boost::asio::awaitable<void> start() = 0;
  // Cancels and awaits everything start() began. Must not throw. Also called
  // after a start() that a signal cancelled midway (terminal cancellation of
  // its awaits), so it must cope with a partial start.
  virtual boost::asio::awaitable<void> stop() = 0;
};

}  // namespace svc::lifecycle

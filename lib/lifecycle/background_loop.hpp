#pragma once
// The one coroutine of a background component (a poller, a cache that
// refreshes itself) and its owner: start() spawns it on a strand of its own,
// stop() cancels it (terminal) and waits, for a bounded time, until it has
// ended. A loop that fails is logged with what that means for the service.

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "lib/core/async_event.hpp"

namespace spdlog {
class logger;
}

namespace svc::lifecycle {

class BackgroundLoop {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  // How long stop() waits for a cancelled loop to unwind before it gives up on it.
  static constexpr auto kStopWait = std::chrono::seconds(5);

  // `name` and `when_failed` make the line "<name> loop failed: <error>; <when_failed>".
  BackgroundLoop(boost::asio::io_context& ioc, std::string name, std::string when_failed, spdlog::logger& log);

  // Where the loop runs: its timers belong here.
  const Strand& strand() const noexcept { return strand_; }
  // Spawns `loop()` on the strand; `ended` runs there once it has ended, however it did.
  boost::asio::awaitable<void> start(std::function<boost::asio::awaitable<void>()> loop,
                                     std::function<void()> ended = {});
  // Cancels the loop and waits for it, at most kStopWait (then logs that it
  // did not end). False when it was never started.
  boost::asio::awaitable<bool> stop();

 private:
  Strand strand_;
  std::string name_;
  std::string when_failed_;
  spdlog::logger& log_;
  boost::asio::cancellation_signal cancel_;  // strand_ only
  bool running_ = false;                     // strand_ only
  core::AsyncEvent done_;
};

}  // namespace svc::lifecycle

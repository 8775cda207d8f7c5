#include "lib/core/async_event.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace svc::core {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

AsyncEvent::AsyncEvent(const asio::any_io_executor& executor) : strand_(asio::make_strand(executor)) {}

void AsyncEvent::set() {
  asio::post(strand_, [this] {
    set_ = true;
    for (auto* timer : waiters_) timer->cancel();
  });
}

// Each waiter sleeps on a timer of its own, registered on the strand, so
// that waiters never cut each other's deadlines short.
asio::awaitable<bool> AsyncEvent::wait_until(Clock::time_point deadline) {
  bool was_set = co_await asio::co_spawn(
      strand_,
      [this, deadline]() -> asio::awaitable<bool> {
        if (set_) co_return true;
        asio::steady_timer timer(strand_, deadline);
        waiters_.push_back(&timer);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        std::erase(waiters_, &timer);
        co_return set_;
      },
      asio::use_awaitable);
  co_return was_set;
}

asio::awaitable<bool> AsyncEvent::wait_for(Clock::duration timeout) {
  bool was_set = co_await wait_until(Clock::now() + timeout);
  co_return was_set;
}

asio::awaitable<void> AsyncEvent::wait() {
  bool was_set = co_await wait_until(Clock::time_point::max());
  if (!was_set) throw boost::system::system_error(asio::error::operation_aborted, "waiting for an event");
}

}  // namespace svc::core

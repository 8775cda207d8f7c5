#include "lib/lifecycle/async_event.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace svc::lifecycle {

namespace asio = boost::asio;

AsyncEvent::AsyncEvent(const asio::any_io_executor& executor)
    : strand_(asio::make_strand(executor)), timer_(strand_) {}

void AsyncEvent::set() {
  asio::post(strand_, [this] {
    set_ = true;
    timer_.cancel();
  });
}

asio::awaitable<bool> AsyncEvent::wait_for(std::chrono::steady_clock::duration timeout) {
  bool was_set = co_await asio::co_spawn(
      strand_,
      [this, timeout]() -> asio::awaitable<bool> {
        if (set_) co_return true;
        timer_.expires_after(timeout);
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return set_;
      },
      asio::use_awaitable);
  co_return was_set;
}

asio::awaitable<void> AsyncEvent::wait() {
  // (GCC 12 miscompiles co_await inside a loop condition: keep it a statement.)
  for (;;) {
    bool was_set = co_await wait_for(std::chrono::hours(24));
    if (was_set) co_return;
  }
}

}  // namespace svc::lifecycle

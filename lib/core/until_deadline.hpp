#pragma once
// Waits for an operation that cannot be interrupted (getaddrinfo on Asio's
// resolver thread) against a deadline. `start(done)` begins the operation;
// `done(value)` may be called from any thread, at most once, but only from
// one that cannot outlive the waiter's io_context: done() posts to it, and a
// post still under way while the io_context is destroyed is a data race (a
// thread of one's own should signal an eventfd the waiter awaits instead).
// The awaiting coroutine resumes on its own executor with the value, or with
// std::nullopt when the deadline passes or the coroutine is cancelled first;
// a late `done` is then ignored. Unlike `op || timer`, leaving never waits
// for the operation to notice.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace svc::core {

namespace detail {

template <typename T>
struct DeadlineRace {
  using Handler = boost::asio::any_completion_handler<void(std::optional<T>)>;
  std::mutex mutex;
  std::optional<Handler> handler;  // taken by whoever finishes first
  boost::asio::any_io_executor executor;  // the waiter's
  boost::asio::cancellation_slot slot;

  static void finish(const std::shared_ptr<DeadlineRace>& self, std::optional<T> value) {
    std::optional<Handler> h;
    {
      std::lock_guard lock(self->mutex);
      if (!self->handler) return;
      h.swap(self->handler);
    }
    // The slot is cleared on the waiter's own executor, where it is emitted.
    boost::asio::post(self->executor, [self, h = std::move(*h), value = std::move(value)]() mutable {
      if (self->slot.is_connected()) self->slot.clear();
      std::move(h)(std::move(value));
    });
  }
};

}  // namespace detail

template <typename T, typename Start>
boost::asio::awaitable<std::optional<T>> until_deadline(std::chrono::steady_clock::time_point deadline, Start start) {
  namespace asio = boost::asio;
  using Race = detail::DeadlineRace<T>;
  // Cancelled already: Asio would throw at the co_await below instead.
  auto state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
  auto race = std::make_shared<Race>();
  race->executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(race->executor, deadline);
  auto value = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<T>)>(
      [&](auto handler) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        race->handler.emplace(std::move(handler));
        if (slot.is_connected()) {
          race->slot = slot;
          slot.assign([race](asio::cancellation_type) { Race::finish(race, std::nullopt); });
        }
        timer.async_wait([race](const boost::system::error_code& ec) {
          if (!ec) Race::finish(race, std::nullopt);
        });
        start([race](T v) { Race::finish(race, std::move(v)); });
      },
      asio::use_awaitable);
  co_return value;
}

}  // namespace svc::core

#pragma once
// The kit's one way to bound an asynchronous operation by a timer: the
// operation's result, with timed_out as its error when the timer expired
// first, and operation_aborted when the awaiting coroutine was cancelled
// (from either side). Non-throwing: the operation is awaited with
// as_tuple(use_awaitable), and the loser is cancelled and waited for.
//
//   asio::steady_timer timer(executor, deadline);
//   auto [ec, n] = co_await core::with_timer(socket.async_read_some(buf, nothrow), timer);

#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace svc::core {

inline constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

// A channel reports our cancellation as channel_cancelled, everything else as operation_aborted.
inline bool is_cancellation(const boost::system::error_code& ec) noexcept {
  return ec == boost::asio::error::operation_aborted || ec == boost::asio::experimental::error::channel_cancelled;
}

template <typename... Ts>
boost::asio::awaitable<std::tuple<boost::system::error_code, Ts...>> with_timer(
    boost::asio::awaitable<std::tuple<boost::system::error_code, Ts...>> op, boost::asio::steady_timer& timer) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto winner = co_await (std::move(op) || timer.async_wait(nothrow));
  if (winner.index() == 0) {
    auto result = std::move(std::get<0>(winner));
    if (is_cancellation(std::get<0>(result))) std::get<0>(result) = boost::asio::error::operation_aborted;
    co_return result;
  }
  std::tuple<boost::system::error_code, Ts...> result{};
  auto [timer_ec] = std::get<1>(winner);
  std::get<0>(result) = timer_ec ? timer_ec : boost::system::error_code(boost::asio::error::timed_out);
  co_return result;
}

}  // namespace svc::core

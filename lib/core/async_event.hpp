#pragma once
// A one-shot event coroutines can await, with or without a deadline, set from
// any thread. Waiters and set() meet on a private strand.

#include <chrono>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace svc::core {

class AsyncEvent {
 public:
  explicit AsyncEvent(const boost::asio::any_io_executor& executor);
  AsyncEvent(const AsyncEvent&) = delete;
  AsyncEvent& operator=(const AsyncEvent&) = delete;

  void set();
  // True once set; false if `timeout` passed first (or the waiter was cancelled).
  boost::asio::awaitable<bool> wait_for(std::chrono::steady_clock::duration timeout);
  // Returns once set; throws system_error(operation_aborted) if cancelled first.
  boost::asio::awaitable<void> wait();

 private:
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::vector<boost::asio::steady_timer*> waiters_;  // strand only
  bool set_ = false;                                 // strand only
};

}  // namespace svc::core

#pragma once
// A one-shot event a coroutine can await with a deadline, set from any thread.
// All timer operations run on a private strand, which makes set() thread-safe.

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace svc::lifecycle {

class AsyncEvent {
 public:
  explicit AsyncEvent(const boost::asio::any_io_executor& executor);
  AsyncEvent(const AsyncEvent&) = delete;
  AsyncEvent& operator=(const AsyncEvent&) = delete;

  void set();
  // True once set; false if `timeout` passed first.
  boost::asio::awaitable<bool> wait_for(std::chrono::steady_clock::duration timeout);
  boost::asio::awaitable<void> wait();

 private:
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;
  bool set_ = false;  // strand only
};

}  // namespace svc::lifecycle

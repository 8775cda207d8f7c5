#include "lib/lifecycle/background_loop.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/logger.h>

namespace svc::lifecycle {

namespace asio = boost::asio;

BackgroundLoop::BackgroundLoop(asio::io_context& ioc, std::string name, std::string when_failed, spdlog::logger& log)
    : strand_(asio::make_strand(ioc)),
      name_(std::move(name)),
      when_failed_(std::move(when_failed)),
      log_(log),
      done_(ioc.get_executor()) {}

asio::awaitable<void> BackgroundLoop::start(std::function<asio::awaitable<void>()> loop, std::function<void()> ended) {
  co_await asio::dispatch(strand_, asio::use_awaitable);
  running_ = true;
  asio::co_spawn(strand_, loop(),
                 asio::bind_cancellation_slot(cancel_.slot(), [this, ended = std::move(ended)](std::exception_ptr e) {
                   // Terminal cancellation (stop) ends the loop with operation_aborted: no failure.
                   try {
                     if (e) std::rethrow_exception(e);
                   } catch (const boost::system::system_error& error) {
                     if (error.code() != asio::error::operation_aborted)
                       log_.error("{} loop failed: {}; {}", name_, error.what(), when_failed_);
                   } catch (const std::exception& error) {
                     log_.error("{} loop failed: {}; {}", name_, error.what(), when_failed_);
                   }
                   if (ended) ended();
                   done_.set();
                 }));
}

asio::awaitable<bool> BackgroundLoop::stop() {
  co_await asio::dispatch(strand_, asio::use_awaitable);
  if (!running_) co_return false;  // start() never spawned the loop
  running_ = false;
  cancel_.emit(asio::cancellation_type::terminal);
  // Named, not awaited inside the condition: GCC 12 miscompiles that here.
  const bool ended = co_await done_.wait_for(kStopWait);
  if (!ended)
    log_.error("{} loop did not end within {} s of being cancelled; stopping without it", name_, kStopWait.count());
  co_return true;
}

}  // namespace svc::lifecycle

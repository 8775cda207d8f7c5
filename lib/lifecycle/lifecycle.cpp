#include "lib/lifecycle/lifecycle.hpp"

#include <csignal>
#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace svc::lifecycle {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {
long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}
double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }
}  // namespace

Lifecycle::Lifecycle(const asio::any_io_executor& executor, spdlog::logger& log, Readiness& readiness,
                     ShutdownSettings shutdown)
    : executor_(executor),
      log_(log),
      readiness_(readiness),
      shutdown_(shutdown),
      stop_deadline_(StopDeadline::of(asio::query(executor, asio::execution::context))),
      signals_(executor, SIGINT, SIGTERM),
      stop_requested_(executor) {}

void Lifecycle::add(Component& component) { components_.push_back(&component); }

void Lifecycle::request_stop(std::string reason, int exit_code) {
  stop_reason_ = std::move(reason);
  exit_code_ = exit_code;
  stop_requested_.set();
}

asio::awaitable<int> Lifecycle::run() {
  log_.info("starting: {} components", components_.size());
  // A signal during start-up (a database that never answers, a migration lock
  // held elsewhere) abandons it instead of waiting: the component starting is
  // cancelled and stopped along with those already started.
  auto outcome = co_await (start_all() || signals_.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (outcome.index() == 1) {
    readiness_.set_phase(Phase::stopping);
    stop_deadline_.begin(shutdown_.grace);  // no drain: nothing was served yet
    if (starting_ != nullptr) started_.push_back(starting_);  // stop() after a cancelled start() is allowed
    starting_ = nullptr;
    int signo = std::get<1>(std::get<1>(outcome));
    log_.info("received {} during start-up; abandoning start-up and stopping {} components",
              signo == SIGTERM ? "SIGTERM" : "SIGINT", started_.size());
    co_await (stop_started() || exit_on_second_signal());
    log_.info("shutdown complete");
    co_return 0;
  }
  if (!std::get<0>(outcome)) {
    co_await stop_started();
    co_return 1;
  }
  readiness_.set_phase(Phase::ready);
  log_.info("ready");

  co_await await_stop_cause();
  co_await (shut_down() || exit_on_second_signal());
  log_.info("shutdown complete");
  co_return exit_code_;
}

asio::awaitable<bool> Lifecycle::start_all() {
  for (Component* c : components_) {
    auto t0 = Clock::now();
    starting_ = c;
    std::string failure;
    try {
      co_await c->start();
    } catch (const std::exception& e) {
      failure = e.what();
      if (failure.empty()) failure = "unknown error";
    }
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return false;  // run() stops starting_ too
    starting_ = nullptr;
    if (failure.empty()) {
      started_.push_back(c);
      log_.info("component {} started in {} ms", c->name(), elapsed_ms(t0));
      continue;
    }
    if (c->criticality() == Criticality::critical) {
      log_.critical("component {} failed to start: {}; stopping the {} started components and exiting", c->name(),
                    failure, started_.size());
      co_return false;
    }
    log_.warn("optional component {} failed to start: {}; serving on with it degraded", c->name(), failure);
    readiness_.add_check(std::string(c->name()), false, [failure]() -> asio::awaitable<CheckResult> {
      co_return CheckResult::degraded("failed to start: " + failure);
    });
  }
  co_return true;
}

asio::awaitable<void> Lifecycle::await_stop_cause() {
  auto cause = co_await (signals_.async_wait(asio::use_awaitable) || stop_requested_.wait());
  stop_deadline_.begin(shutdown_.drain + shutdown_.grace);
  readiness_.set_phase(Phase::stopping);  // before the log line: tests and operators read it as "not ready now"
  if (cause.index() == 0) {
    int signo = std::get<0>(cause);
    log_.info("received {}; not ready, draining for {:.1f} s", signo == SIGTERM ? "SIGTERM" : "SIGINT",
              seconds(shutdown_.drain));
  } else {
    log_.error("stop requested: {}; not ready, draining for {:.1f} s", stop_reason_, seconds(shutdown_.drain));
  }
}

asio::awaitable<void> Lifecycle::shut_down() {
  // Keep serving while load balancers notice that readiness is gone.
  asio::steady_timer drain(executor_, shutdown_.drain);
  co_await drain.async_wait(asio::as_tuple(asio::use_awaitable));
  log_.info("drain window over; stopping components");
  co_await stop_started();
}

asio::awaitable<void> Lifecycle::exit_on_second_signal() {
  auto [ec, signo] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;  // shutdown finished first and cancelled us
  log_.critical("second signal ({}) during shutdown; exiting now without waiting", signo);
  log_.flush();
  std::_Exit(130);
}

asio::awaitable<void> Lifecycle::stop_started() {
  while (!started_.empty()) {
    Component* c = started_.back();
    started_.pop_back();
    auto t0 = Clock::now();
    try {
      co_await c->stop();
    } catch (const std::exception& e) {
      log_.error("component {} failed to stop cleanly: {}; continuing with the next", c->name(), e.what());
    }
    log_.info("component {} stopped in {} ms", c->name(), elapsed_ms(t0));
  }
}

}  // namespace svc::lifecycle

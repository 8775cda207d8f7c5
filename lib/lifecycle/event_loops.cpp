#include "lib/lifecycle/event_loops.hpp"

namespace svc::lifecycle {

namespace asio = boost::asio;

EventLoops::EventLoops(asio::io_context& main, unsigned count) : main_(main) {
  executors_.push_back(main.get_executor());
  for (unsigned i = 1; i < count; ++i) {
    // Concurrency hint 1: each context is run by one thread (Asio skips
    // waking other threads), locking stays on for cross-loop posts.
    auto& ctx = *extra_.emplace_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(ctx.get_executor());
    executors_.push_back(ctx.get_executor());
  }
}

EventLoops::~EventLoops() {
  {
    std::lock_guard lock(mutex_);
    main_done_ = true;
  }
  main_done_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  join_extra();
}

bool EventLoops::run() {
  for (auto& ctx : extra_) threads_.emplace_back([&ctx = *ctx] { ctx.run(); });
  main_.run();
  bool abandoned = false;
  {
    std::lock_guard lock(mutex_);
    main_done_ = true;
    abandoned = abandoned_;
  }
  main_done_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  join_extra();
  return !abandoned;
}

void EventLoops::finish() {
  std::lock_guard lock(mutex_);
  if (watchdog_.joinable() || main_done_) return;
  // A thread, not a timer on `main`: a timer is work, and `main` would then
  // never run out of it before the timer fired.
  watchdog_ = std::thread([this] {
    std::unique_lock wait(mutex_);
    if (main_done_cv_.wait_for(wait, kExitLinger, [this] { return main_done_; })) return;
    abandoned_ = true;
    main_.stop();
  });
}

void EventLoops::join_extra() noexcept {
  guards_.clear();
  // Sessions have ended by now (the server's stop waited for them); a loop
  // with work left is one whose connection never unwound: stop it anyway.
  for (auto& ctx : extra_) ctx->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  executors_.resize(1);
  extra_.clear();
}

}  // namespace svc::lifecycle

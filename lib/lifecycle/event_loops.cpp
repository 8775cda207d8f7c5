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

EventLoops::~EventLoops() { join_extra(); }

void EventLoops::run() {
  for (auto& ctx : extra_) threads_.emplace_back([&ctx = *ctx] { ctx.run(); });
  main_.run();
  join_extra();
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

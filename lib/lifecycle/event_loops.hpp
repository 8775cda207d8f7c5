#pragma once
// The process's threads: one io_context per thread, like nginx's workers and
// userver's task processors, instead of N threads sharing one io_context.
// Threads sharing a context contend on its scheduler and reactor locks, and
// every connection then needs a strand: measured on 2 cores, 2 shared threads
// served /health at 0.7x one thread (docs/benchmarks.md).
//
// Loop 0 is the caller's `main` context: the lifecycle, the pool's background
// work and the acceptor run there. The HTTP server spreads connections over
// all loops; a connection stays on its loop, so its handlers need no strand.
// Anything shared across loops (the pool, readiness) is thread-safe.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace svc::lifecycle {

class EventLoops {
 public:
  // `count` loops in all (at least 1): `main` and count - 1 more.
  EventLoops(boost::asio::io_context& main, unsigned count);
  ~EventLoops();  // stops and joins whatever run() has not
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  // One executor per loop, main first. Each is run by exactly one thread.
  const std::vector<boost::asio::any_io_executor>& executors() const noexcept { return executors_; }

  // After finish(), how long `main` may still run before it is stopped.
  static constexpr auto kExitLinger = std::chrono::seconds(1);

  // Runs `main` on the calling thread and every other loop on a thread of
  // its own. Returns when `main` runs out of work (the lifecycle has ended),
  // or kExitLinger after finish() at the latest, after stopping, joining and
  // destroying the other loops: nothing they still held (a connection that
  // never unwound) outlives the call. False if `main` still had work and was
  // stopped: that work was abandoned, not destroyed, so the caller must not
  // destroy what it may use (exit instead).
  bool run();
  // Any thread, once the root task has ended: `main` gets kExitLinger more to
  // run out of work. Without it, a coroutine that never unwound (or a timer
  // nobody cancels) would keep the process alive until it is killed.
  void finish();

 private:
  void join_extra() noexcept;

  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  boost::asio::io_context& main_;
  std::vector<std::unique_ptr<boost::asio::io_context>> extra_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::vector<boost::asio::any_io_executor> executors_;
  // finish()'s watchdog: stops `main` unless run() saw it run out of work first.
  std::thread watchdog_;
  std::mutex mutex_;
  std::condition_variable main_done_cv_;
  bool main_done_ = false;  // mutex_
  bool abandoned_ = false;  // mutex_
};

}  // namespace svc::lifecycle

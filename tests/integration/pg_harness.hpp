#pragma once
// Shared set-up for tests that drive lib/pg against the real cluster that
// scripts/test starts (TEST_DATABASE_URL). libpqxx is the independent oracle.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/logger.h>

#include "lib/pg/connection.hpp"
#include "lib/pg/pool_settings.hpp"

namespace pgtest {

// TEST_DATABASE_URL; throws (failing the test) when unset.
std::string database_url();
std::string conninfo();
// Connect options with a unique application_name, so that pg_stat_activity
// counts are this test's own even when tests run in parallel.
svc::pg::ConnectOptions options(const std::string& tag);
std::shared_ptr<spdlog::logger> logger();

// Backends of `application_name`, counted by libpqxx (the oracle).
int backends(const std::string& application_name);
// Terminates those backends; returns how many.
int terminate_backends(const std::string& application_name);
// One scalar through libpqxx.
std::string oracle_scalar(const std::string& sql);
// Statements through libpqxx, results ignored.
void oracle_exec(const std::string& sql);
// Waits `d` on the calling coroutine's executor (a timer, no thread blocked).
boost::asio::awaitable<void> pause(std::chrono::milliseconds d);

// Runs `make()`'s awaitable on a fresh io_context with `threads` threads
// and returns its result (rethrowing its exception).
//
// The test's coroutine runs on a strand: the branches of an awaitable
// operator (`acquire() || timer`) run on the coroutine's executor, and the
// branch that finishes first emits the others' cancellation from its own
// thread; on a bare multi-threaded context that write races with the other
// branch reading its cancellation state (ThreadSanitizer, pg-pool). The pool's
// own work still runs on all `threads`.
template <typename MakeAwaitable>
auto run(MakeAwaitable make, unsigned threads = 2) {
  boost::asio::io_context ioc(static_cast<int>(threads));
  auto future = boost::asio::co_spawn(boost::asio::make_strand(ioc), make(ioc), boost::asio::use_future);
  std::vector<std::thread> extra;
  for (unsigned i = 1; i < threads; ++i) extra.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : extra) t.join();
  return future.get();
}

}  // namespace pgtest

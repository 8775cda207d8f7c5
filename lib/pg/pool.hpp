#pragma once
// A connection pool with the knobs of ARCHITECTURE.md and two ways in:
//
// - query(): one autocommit statement on the shared path. Each event loop
//   has a StatementLane whose pipelined connections carry many callers'
//   statements at once (statement_lane.hpp); a statement never leaves its
//   caller's loop, and every one has a deadline.
// - acquire(): an exclusive checkout for transactions, COPY and session
//   state, with a fixed core plus overflow under burst, FIFO-fair waiting
//   with a deadline, pre-ping of idle connections, recycling by age, discard
//   of broken connections.
//
// Both draw on one budget of size + overflow connections; background
// reconnection with capped exponential backoff runs while the database is
// down. It is a lifecycle component (critical for readiness, but a down
// database never stops the process unless fail_fast), and registers the
// "database" readiness check. Shared state sits behind one small mutex; a
// lane's state belongs to its loop.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "lib/core/async_event.hpp"
#include "lib/core/slot_pool.hpp"
#include "lib/lifecycle/component.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/connection.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/pool_settings.hpp"
#include "lib/pg/statement_lane.hpp"

namespace spdlog {
class logger;
}

namespace svc::pg {

class Pool;

// A checked-out connection; returns to its pool when destroyed.
class PooledConnection {
 public:
  PooledConnection() = default;
  PooledConnection(Pool* pool, std::unique_ptr<Connection> conn) noexcept;
  PooledConnection(PooledConnection&& other) noexcept;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  ~PooledConnection();

  Connection* operator->() const noexcept { return conn_.get(); }
  Connection& operator*() const noexcept { return *conn_; }
  explicit operator bool() const noexcept { return conn_ != nullptr; }
  // Do not reuse: close it on release (e.g. the caller saw it misbehave).
  void invalidate() noexcept;

 private:
  void release() noexcept;
  Pool* pool_ = nullptr;
  std::unique_ptr<Connection> conn_;
};

struct PoolStats {
  std::size_t size = 0;          // open connections (idle + checked out)
  std::size_t checked_out = 0;
  std::size_t idle = 0;
  std::size_t overflow = 0;      // open connections beyond the core size
  std::size_t connecting = 0;
  std::size_t waiting = 0;       // acquirers queued
  std::size_t max = 0;           // size + max_overflow
  std::size_t pipelined = 0;     // open connections carrying the shared statement path
  // The statement path, summed over the event loops' lanes.
  std::size_t statements_in_flight = 0;
  std::size_t statements_waiting = 0;        // for room on a pipelined connection
  std::uint64_t statements_total = 0;
  std::uint64_t statement_failures_total = 0;  // answered with an error
  std::uint64_t deadline_failures_total = 0;   // answered with deadline_exceeded
  std::uint64_t dead_connections_total = 0;    // pipelined connections replaced for a missed deadline
  std::uint64_t statements_retried_total = 0;  // reads sent again after another's failure
  std::uint64_t created_total = 0;
  std::uint64_t failed_total = 0;       // connection attempts that failed
  std::uint64_t invalidated_total = 0;  // connections discarded as broken/stale
  std::uint64_t timeouts_total = 0;     // acquires that hit DB_POOL_TIMEOUT
  std::uint64_t acquired_total = 0;
  double wait_seconds_total = 0;        // time acquirers spent waiting
  double wait_seconds_max = 0;
  // Acquires by wait time, in telemetry::kDurationBuckets (last: +Inf).
  std::array<std::uint64_t, 15> wait_buckets{};
  bool healthy = false;                 // last connect/ping succeeded
  std::string last_error;               // last connect error (no secrets)
};

// A statement on the shared path.
struct StatementOptions {
  std::chrono::milliseconds deadline{0};  // 0 = DB_STATEMENT_DEADLINE
  // A read that may share a Sync with other callers' reads (a faster path,
  // with the same results: pipelined_connection.hpp). Never for a statement
  // that writes, locks or depends on transaction state.
  bool read_only = false;
};

class Pool final : public lifecycle::Component {
 public:
  // `loops`: the event loops whose coroutines call query(), each run by
  // exactly one thread (lifecycle::EventLoops); each gets a lane. Empty: one
  // lane on a strand of `ioc`, and every caller hops to it and back.
  Pool(boost::asio::io_context& ioc, ConnectOptions connect, PoolSettings settings, spdlog::logger& log,
       lifecycle::Readiness& readiness, std::vector<boost::asio::any_io_executor> loops = {});
  ~Pool() override;

  std::string_view name() const override { return "postgres-pool"; }
  // Opens the first connection. If the database is down: with fail_fast,
  // throws after connect_timeout; otherwise logs, reports not ready, and keeps
  // reconnecting in the background.
  boost::asio::awaitable<void> start() override;
  // Refuses new acquires, fails waiters, waits (bounded) for checked-out
  // connections to come back, closes everything, joins background tasks.
  boost::asio::awaitable<void> stop() override;

  // One autocommit statement on the caller's loop's lane; resumes there.
  // Throws PgError: query_failed (the statement's own error, nobody else's),
  // deadline_exceeded, cancelled, pool_closed, connect_failed, connection_lost.
  // Without a free slot for a pipelined connection, it runs on an exclusive
  // checkout instead.
  boost::asio::awaitable<Result> query(std::string_view sql, const Params& params = {}, StatementOptions options = {});

  // Throws PgError(pool_timeout | pool_closed | connect_failed | cancelled).
  // DB_POOL_TIMEOUT bounds the whole call, pre-pings included.
  boost::asio::awaitable<PooledConnection> acquire();

  PoolStats stats() const;
  // SELECT 1 through the pool, cached for health_cache.
  boost::asio::awaitable<lifecycle::CheckResult> check_health();
  int server_version() const noexcept { return server_version_.load(std::memory_order_relaxed); }

 private:
  friend class PooledConnection;
  struct Wakeup;
  class LaneHost;
  using Slots = core::SlotPool<std::unique_ptr<Connection>>;
  using Wake = Slots::Wake;

  void give_back(std::unique_ptr<Connection> conn) noexcept;
  // mutex_ held: wakes the waiters the slot pool named.
  void wake_locked(const Wake& wake);
  boost::asio::awaitable<Slots::Outcome> wait_for_slot(Slots::WaiterId id, Wakeup& wakeup,
                                                       std::chrono::steady_clock::time_point deadline,
                                                       bool lanes_hold_slots);
  // `deadline`: the caller's (an acquire's); bounds the connect below DB_CONNECT_TIMEOUT.
  boost::asio::awaitable<std::unique_ptr<Connection>> open_connection(
      boost::asio::any_io_executor executor,
      std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
  struct Opened {
    std::unique_ptr<Connection> conn;
    std::optional<PgError> error;
  };
  boost::asio::awaitable<Opened> open_reserved(
      boost::asio::any_io_executor executor,
      std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
  boost::asio::awaitable<bool> validate(Connection& conn, std::chrono::steady_clock::time_point idle_since,
                                        std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<Result> query_until(std::string_view sql, const Params& params,
                                             std::chrono::steady_clock::time_point deadline, bool read_only);
  StatementLane* lane_on(const boost::asio::any_io_executor& executor) const;
  // StatementLane::Host, through LaneHost.
  bool reserve_lane_slot();
  boost::asio::awaitable<std::unique_ptr<Connection>> open_for_lane(boost::asio::any_io_executor executor);
  void lane_slot_closed(bool failed);
  void start_maintenance();
  boost::asio::awaitable<void> maintenance_loop();
  boost::asio::awaitable<void> recover(std::unique_ptr<Connection> conn);
  boost::asio::awaitable<void> reconnect_loop();
  void spawn_background(boost::asio::any_io_executor executor, boost::asio::awaitable<void> task);
  // Like spawn_background, for a task already counted in background_.
  void spawn_counted(boost::asio::any_io_executor executor, boost::asio::awaitable<void> task,
                     boost::asio::cancellation_slot slot);
  void record_wait(std::chrono::steady_clock::time_point started);

  boost::asio::io_context& ioc_;
  ConnectOptions connect_;
  PoolSettings settings_;
  spdlog::logger& log_;
  lifecycle::Readiness& readiness_;

  mutable std::mutex mutex_;  // guards everything below up to the atomics
  // Which connection is where: idle (most recently used first), lent
  // (checked out or recovering), opening, reserved (pipelined); the waiters.
  Slots slots_;
  std::unordered_map<Slots::WaiterId, std::shared_ptr<Wakeup>> wakeups_;
  std::size_t pipelined_open_ = 0;  // reserved slots whose connection is open
  bool healthy_ = false;
  std::string last_error_;
  std::size_t background_ = 0;  // running background tasks (recovery, reconnect)
  PoolStats counters_;          // the *_total and wait fields only
  std::chrono::steady_clock::time_point health_checked_{};
  lifecycle::CheckResult health_cached_;

  std::atomic<int> server_version_{0};
  core::AsyncEvent background_done_;
  core::AsyncEvent all_returned_;
  boost::asio::strand<boost::asio::io_context::executor_type> reconnect_strand_;
  boost::asio::steady_timer reconnect_timer_;  // reconnect_strand_ only
  boost::asio::steady_timer maintenance_timer_;  // reconnect_strand_ only
  boost::asio::cancellation_signal reconnect_cancel_;  // reconnect_strand_ only
  bool reconnecting_ = false;                  // mutex

  // Lanes last: built after everything they use, destroyed first.
  std::unique_ptr<LaneHost> lane_host_;
  std::optional<boost::asio::strand<boost::asio::io_context::executor_type>> lane_strand_;  // without loops
  std::vector<std::unique_ptr<StatementLane>> lanes_;
  std::vector<const boost::asio::execution_context*> lane_contexts_;
};

}  // namespace svc::pg

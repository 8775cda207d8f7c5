#pragma once
// The event writer: events (one per HTTP request, and whatever the
// application records) into the application's event table, batched,
// bounded, never blocking the caller.
//
// submit() checks a counter of events not yet written against
// TELEMETRY_QUEUE_CAPACITY (one relaxed atomic add); beyond the capacity it
// drops the event and counts it. An admitted event is appended to one vector
// behind one small mutex, the only state callers share with the writer. No
// cross-thread wake-up per event: submit() posts to the writer only when
// TELEMETRY_BATCH_MIN events wait or when the writer sleeps with nothing
// queued. The writer starts a batch when TELEMETRY_BATCH_MIN events are
// queued or TELEMETRY_FLUSH_MS after the oldest was taken, and takes all
// that wait, up to TELEMETRY_BATCH_SIZE, as one
// COPY ... FROM STDIN (FORMAT binary): PostgreSQL's cheapest ingest path,
// with no text parsing of numbers and timestamps. Small, frequent COPYs
// when the database keeps up (250 rows: a fraction of a millisecond of its
// CPU each); larger ones by themselves when it falls behind. With the
// database on the service's cores, 2,000-row COPYs starved the read path:
// 24k against 36k requests/s on a one-row read (docs/benchmarks.md).
//
// A thread of its own: the flush loop, its timer and its connection live on
// a private io_context run by the writer's one thread, so they need no strand
// (one thread) and are not queued behind the event loops: at saturation the
// loops' run queues held thousands of request handlers, a flush loop queued
// behind them took ~22 ms per batch of 2000 and the queue overflowed (events
// dropped at 56k requests/s). Here a batch waits only for PostgreSQL.
//
// Write path: a dedicated connection, not the shared pool. The writer starts
// before the pool and stops after it (it must flush the events of every other
// component's shutdown), so the pool is not there at either end; and a
// backlog must never take a request's pool slot. It reconnects by itself with
// capped, jittered exponential backoff while the database is down, keeping
// what fits in the queue.
//
// Exactly once: each batch is BEGIN, COPY, COMMIT, and the transaction's id
// is taken first. A failure before COMMIT was sent leaves nothing written
// (the batch is retried); a COMMIT sent and not answered (a connection lost
// or stalled at that moment) may have committed or not, so the batch is
// "in doubt": before anything else is written, a new connection asks
// pg_xact_status. Committed: counted written. Not: written again. Still in
// progress (the old backend may yet receive the COMMIT): that backend is
// terminated, and the database asked again. Without this, a COPY that
// committed behind a stalled reply was written twice. (PostgreSQL 14 or
// later: pg_terminate_backend's wait.)
//
// A batch the database rejects for what some of its rows hold (SQLSTATE
// class 22, 23 or 54: bad data, a constraint, a row too large) is split in
// halves until the rejected rows stand alone; those are dropped and counted
// (telemetry_rejected_total, one log line per batch), every other row is
// written. Any other failure (the database down, slow, or refusing every
// batch: no table, no privilege) keeps the batch queued and retries it with
// backoff.
//
// A lifecycle component, optional. start() makes no database round trip (a
// database that hangs must not delay start-up): the flush loop connects at
// once and checks that it may INSERT. While it cannot (database down, no
// privilege on the table) the service serves on and /ready shows the check
// "degraded"; it keeps checking with backoff. stop() refuses new events,
// flushes everything queued within the grace period (the shutdown's, shared
// with the components stopped before it: lifecycle::StopDeadline) and logs
// written/dropped.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "lib/core/async_event.hpp"
#include "lib/core/backoff.hpp"
#include "lib/events/event.hpp"
#include "lib/events/writer_settings.hpp"
#include "lib/lifecycle/component.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/lifecycle/stop_deadline.hpp"
#include "lib/pg/connection.hpp"
#include "lib/pg/error.hpp"

namespace spdlog {
class logger;
}

namespace svc::telemetry {
class Registry;
class Histogram;
}  // namespace svc::telemetry

namespace svc::events {

struct WriterStats {
  std::uint64_t queued = 0;  // accepted, not yet written or dropped
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;   // rejected ones included
  std::uint64_t rejected = 0;  // refused by the database for what they hold
  std::uint64_t submitted = 0;  // every submit: queued + written + dropped, once the queue settles
  bool connected = false;
};

class Writer final : public lifecycle::Component {
 public:
  // `grace`: the longest stop() spends flushing. `backoff_max`: reconnect cap.
  // `ioc`: where stop() and the readiness check wait. Registers its metrics
  // (telemetry_*) in `metrics`.
  Writer(boost::asio::io_context& ioc, pg::ConnectOptions connect, EventSchema schema, WriterSettings settings,
         std::chrono::milliseconds grace, std::chrono::milliseconds backoff_max, telemetry::Registry& metrics,
         spdlog::logger& log, lifecycle::Readiness& readiness);
  ~Writer() override;

  std::string_view name() const override { return "telemetry"; }
  lifecycle::Criticality criticality() const override { return lifecycle::Criticality::optional; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  // Never blocks, never throws; a no-op (counted as dropped) when not
  // started, stopping, or the queue is full. Any thread.
  void submit(Event event) noexcept;
  // TELEMETRY_ASYNC_WRITES=false: returns after the batch holding the event
  // was written, or failed to be (then it stays queued and is retried), or
  // after TELEMETRY_SYNC_WAIT_MS (then it stays queued too).
  boost::asio::awaitable<void> submit_and_wait(Event event);
  // What the settings ask for: submit_and_wait when async writes are off.
  boost::asio::awaitable<void> record(Event event);
  bool accepting() const noexcept { return accepting_.load(std::memory_order_relaxed); }
  bool sync_writes() const noexcept { return !settings_.async_writes; }

  WriterStats stats() const noexcept;

 private:
  struct Waiter;
  struct Queued {
    // Built in place in incoming_: an event is ~300 bytes, moved once less.
    Queued(Event&& e, std::shared_ptr<Waiter> w) noexcept : event(std::move(e)), waiter(std::move(w)) {}
    Event event;
    std::shared_ptr<Waiter> waiter;              // submit_and_wait only
    std::chrono::steady_clock::time_point due;  // taken + TELEMETRY_FLUSH_MS
  };

  std::optional<std::uint64_t> admit() noexcept;  // the pending count before this event; nullopt when refused
  void drop_admitted(std::size_t count) noexcept;
  // Any thread: into incoming_, waking the writer if it must. `pending_before`: admit()'s count.
  void hand_over(Event&& event, std::shared_ptr<Waiter> waiter, std::uint64_t pending_before) noexcept;
  void wake() noexcept;                  // any thread: one post to the writer's thread
  // The writer's thread only:
  void take_incoming(bool close = false);
  void report_loop_end(std::exception_ptr e) noexcept;
  boost::asio::awaitable<void> flush_loop();
  boost::asio::awaitable<bool> ensure_connected();
  boost::asio::awaitable<bool> write_batch();
  // How one COPY's transaction ended: committed, not (error says why), or unknown (in_doubt_ says which).
  enum class Outcome { committed, failed, in_doubt };
  struct Attempt {
    Outcome outcome = Outcome::committed;
    std::optional<pg::PgError> error;
  };
  boost::asio::awaitable<Attempt> copy_head(std::size_t count);
  boost::asio::awaitable<bool> resolve_doubt();
  void pop_head(std::size_t count, bool written);
  void release_waiters(std::size_t count);
  boost::asio::awaitable<void> sleep_backoff();
  boost::asio::awaitable<lifecycle::CheckResult> check() const;

  pg::ConnectOptions connect_;
  EventSchema schema_;
  std::string copy_sql_;   // COPY <table> (...) FROM STDIN (FORMAT binary)
  std::string can_insert_sql_;
  WriterSettings settings_;
  std::chrono::milliseconds grace_;
  const lifecycle::StopDeadline& stop_deadline_;  // ioc's: the grace is the shutdown's, not a second one
  spdlog::logger& log_;
  lifecycle::Readiness& readiness_;

  // Shared with submitters: everything behind mutex_, nothing else.
  std::mutex mutex_;
  std::vector<Queued> incoming_;
  bool closed_ = false;       // stop() took the last events: later ones are dropped
  bool idle_ = false;         // the flush loop sleeps with nothing queued: the next event wakes it
  bool wake_posted_ = false;  // a wake-up is on its way: no other is posted

  // The writer's own thread and what only it touches.
  boost::asio::io_context context_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::deque<Queued> queue_;
  std::vector<Queued> taken_;  // swapped with incoming_
  std::size_t waiting_ = 0;    // queue_ items with a waiter
  std::unique_ptr<pg::Connection> conn_;
  boost::asio::steady_timer wake_;  // the flush loop sleeps on it; cancel() wakes it
  core::Backoff backoff_;
  bool backing_off_ = false;
  bool stopping_ = false;
  bool loop_done_ = false;
  boost::asio::cancellation_signal cancel_;
  std::string data_;  // the COPY rows of the batch being written
  std::vector<pg::Statement> begin_;  // BEGIN; the transaction's id and backend
  // The batch at the queue's head whose COMMIT went unanswered.
  struct InDoubt {
    std::string xid;               // pg_current_xact_id()
    std::int32_t backend_pid = 0;  // the server's backend, also behind PgBouncer (pg_backend_pid())
    std::size_t count = 0;
  };
  std::optional<InDoubt> in_doubt_;

  core::AsyncEvent done_;
  bool started_ = false;
  std::atomic<bool> accepting_{false};
  std::atomic<std::uint64_t> pending_{0};  // admitted and not yet written or dropped
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> sync_timeouts_{0};
  std::atomic<std::uint64_t> submitted_{0};
  std::atomic<bool> connected_{false};
  std::atomic<bool> failing_{false};  // the last connect or write failed
  std::atomic<bool> denied_{false};   // connected, but no INSERT privilege on the table

  telemetry::Histogram* batch_size_ = nullptr;
  telemetry::Histogram* flush_seconds_ = nullptr;
};

}  // namespace svc::events

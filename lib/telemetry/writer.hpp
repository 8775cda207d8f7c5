#pragma once
// The telemetry writer: events (one per HTTP request, upstream call, scrape
// round) into the telemetry_events table, batched, bounded, never blocking
// the caller.
//
// submit() checks a counter of events not yet written against
// TELEMETRY_QUEUE_CAPACITY (one relaxed atomic add); beyond the capacity it
// drops the event and counts it. An admitted event is appended to the
// calling thread's shard (a vector behind a mutex of its own: each event loop
// thread gets a shard to itself, so the mutex is uncontended but for the
// writer's drain). No cross-thread wake-up per event: submit() posts to the
// writer's strand only when its shard reaches TELEMETRY_BATCH_SIZE or when
// the writer sleeps with nothing queued. On the strand, a flush loop drains
// the shards and writes a batch when TELEMETRY_BATCH_SIZE events are queued
// or TELEMETRY_FLUSH_MS after the oldest reached the strand, as one
// COPY telemetry_events FROM STDIN (FORMAT binary): PostgreSQL's cheapest
// ingest path, with no text parsing of numbers and timestamps.
//
// Its own thread: the strand, the encoding and the COPY run on a one-thread
// pool of the writer's, not on the event loops. At saturation the event
// loops' run queues hold thousands of request handlers; a flush loop queued
// behind them took ~22 ms per batch of 2000 and the queue overflowed (events
// dropped at 56k requests/s). On a thread of its own, a batch waits only for
// PostgreSQL, and the work of writing is not charged to request latency.
//
// Write path: a dedicated connection of its own, not the shared pool. The
// writer starts before the pool and stops after it (it must flush events of
// every other component's shutdown), so the pool is not there at either end;
// and a telemetry backlog must never take a request's pool slot. The writer
// reconnects by itself with capped, jittered exponential backoff
// (DB_RECONNECT_BACKOFF_MAX) while the database is down, keeping what fits in
// the queue.
//
// A lifecycle component, optional. start() makes no database round trip (a
// database that hangs must not delay start-up; the pool reports on the
// database): the flush loop connects at once and checks that it may INSERT.
// While it cannot (database down, no privilege on the table) the service
// serves on and /ready shows "telemetry": "degraded"; it keeps checking with
// backoff, so granting the privilege or restoring the database heals it.
// stop() refuses new events, flushes everything queued within the
// grace period and logs written/dropped totals.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "lib/lifecycle/async_event.hpp"
#include "lib/lifecycle/component.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/connection.hpp"
#include "lib/telemetry/telemetry_settings.hpp"

namespace spdlog {
class logger;
}

namespace svc::telemetry {

class Registry;
class Counter;
class Gauge;
template <class T>
class Family;
class Histogram;

// Text that lives inside the event (no allocation), truncated to N bytes.
template <std::size_t N>
class InlineText {
 public:
  InlineText() = default;
  InlineText(std::string_view s) noexcept { assign(s); }  // NOLINT: implicit on purpose
  void assign(std::string_view s) noexcept {
    size_ = static_cast<std::uint8_t>(s.size() < N ? s.size() : N);
    for (std::size_t i = 0; i < size_; ++i) data_[i] = s[i];
  }
  std::string_view view() const noexcept { return {data_.data(), size_}; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  static_assert(N < 256);
  std::array<char, N> data_{};
  std::uint8_t size_ = 0;
};

struct Event {
  enum class Kind : std::uint8_t { http, upstream, scrape };
  Kind kind = Kind::http;
  std::chrono::system_clock::time_point time;  // when it started
  InlineText<64> request_id;                   // X-Request-ID of the request it belongs to, if any
  InlineText<32> trace_id;                     // W3C trace id, if any
  double duration_seconds = 0;
  // http: method, route template (never the raw path), status, body sizes.
  InlineText<16> method;
  // A view, not a copy: it must outlive the writer's stop(). The server
  // passes the router's pattern (the router outlives every component) or a
  // literal.
  std::string_view route;
  int status = 0;
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  // upstream / scrape: exchange, endpoint or market, outcome ("ok", "timeout",
  // "http_503", ...), offers stored / skipped (scrape).
  std::string name;
  std::string target;
  std::string outcome;
  std::int64_t stored = 0;
  std::int64_t skipped = 0;
};

// The writer's own metrics (registered in the constructor when given a registry).
struct WriterStats {
  std::uint64_t queued = 0;  // accepted, not yet written or dropped
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  bool connected = false;
};

class Writer final : public lifecycle::Component {
 public:
  // `grace`: the longest stop() spends flushing. `backoff_max`: reconnect cap.
  // `ioc`: where stop() and the readiness check wait (the writer's own work
  // runs on its thread).
  Writer(boost::asio::io_context& ioc, pg::ConnectOptions connect, TelemetrySettings settings,
         std::chrono::milliseconds grace, std::chrono::milliseconds backoff_max, Registry& metrics,
         spdlog::logger& log, lifecycle::Readiness& readiness);
  ~Writer() override;

  std::string_view name() const override { return "telemetry"; }
  lifecycle::Criticality criticality() const override { return lifecycle::Criticality::optional; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  // Never blocks, never throws; a no-op (counted as dropped) when disabled,
  // not started, stopping, or the queue is full.
  void submit(Event event) noexcept;
  // TELEMETRY_ASYNC_WRITES=false: returns after the batch holding the event
  // was written, or failed to be (then it stays queued and is retried).
  boost::asio::awaitable<void> submit_and_wait(Event event);
  // What the settings ask for: submit_and_wait when async writes are off.
  boost::asio::awaitable<void> record(Event event);
  bool accepting() const noexcept { return accepting_.load(std::memory_order_relaxed); }
  bool sync_writes() const noexcept { return !settings_.async_writes; }

  WriterStats stats() const noexcept;

 private:
  struct Waiter;
  struct Queued {
    Event event;
    std::shared_ptr<Waiter> waiter;              // submit_and_wait only
    std::chrono::steady_clock::time_point due;  // reached the strand + TELEMETRY_FLUSH_MS
  };
  // Where submit() puts events: one per submitting thread in the common case.
  struct alignas(64) Shard {
    std::mutex mutex;
    std::vector<Event> events;
    bool closed = false;  // stop() took the last events: later ones are dropped
  };
  static constexpr std::size_t kShards = 16;
  // The pending count before this event, or nullopt when refused (counted).
  std::optional<std::uint64_t> admit() noexcept;
  void drop_admitted(std::size_t count) noexcept;
  void wake() noexcept;                // any thread: one post to the strand
  void enqueue(Queued item);           // strand (submit_and_wait)
  void take_shards(bool close = false);  // strand: shards → queue_
  boost::asio::awaitable<void> flush_loop();
  boost::asio::awaitable<bool> ensure_connected();
  boost::asio::awaitable<bool> write_batch();
  void release_waiters(std::size_t count);
  boost::asio::awaitable<void> sleep_backoff();
  boost::asio::awaitable<lifecycle::CheckResult> check() const;

  pg::ConnectOptions connect_;
  TelemetrySettings settings_;
  std::chrono::milliseconds grace_;
  std::chrono::milliseconds backoff_max_;
  spdlog::logger& log_;
  lifecycle::Readiness& readiness_;

  // Declared before everything that uses it: destroyed after them.
  boost::asio::thread_pool thread_{1};
  boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
  std::array<Shard, kShards> shards_;
  // The flush loop sleeps with nothing queued: the next submit() wakes it.
  std::atomic<bool> idle_{false};
  // A wake-up is posted and the shards not drained since: submit() posts no other.
  std::atomic<bool> wake_posted_{false};
  std::atomic<std::uint64_t> in_flight_{0};  // events of the batch being written (counted in pending_)
  // Strand only:
  std::deque<Queued> queue_;
  std::vector<Event> spare_;  // swapped with a shard's vector when draining it
  std::size_t waiting_ = 0;   // queue_ items with a waiter
  std::unique_ptr<pg::Connection> conn_;
  boost::asio::steady_timer wake_;  // the flush loop sleeps on it; cancel() wakes it
  std::chrono::milliseconds backoff_{0};
  bool stopping_ = false;
  bool loop_done_ = false;
  boost::asio::cancellation_signal cancel_;
  std::string data_;  // the COPY rows of the batch being written

  lifecycle::AsyncEvent done_;
  bool started_ = false;
  std::atomic<bool> accepting_{false};
  std::atomic<std::uint64_t> pending_{0};  // admitted and not yet written or dropped
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> connected_{false};
  std::atomic<bool> failing_{false};  // the last connect or write failed
  std::atomic<bool> denied_{false};   // connected, but no INSERT privilege on the table

  Histogram* batch_size_ = nullptr;
  Histogram* flush_seconds_ = nullptr;
};

}  // namespace svc::telemetry

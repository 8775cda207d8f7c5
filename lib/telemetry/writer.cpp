#include "lib/telemetry/writer.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "lib/pg/copy_binary.hpp"
#include "lib/pg/error.hpp"
#include "lib/telemetry/metrics.hpp"

namespace svc::telemetry {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using lifecycle::CheckResult;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// After the grace period, how long a cancelled flush may take to unwind.
constexpr auto kUnwindTime = std::chrono::seconds(2);
constexpr auto kFirstBackoff = std::chrono::milliseconds(50);

// Binary format: the server parses no numbers or timestamps (in text format
// that was half its CPU per event; see docs/observability.md).
constexpr std::string_view kCopy =
    "COPY telemetry_events (kind, at, request_id, trace_id, duration_seconds, method, route, status, "
    "request_bytes, response_bytes, name, target, outcome, stored, skipped) FROM STDIN (FORMAT binary)";
constexpr std::uint16_t kColumns = 15;

// NULL: the table is not there yet (migrations run after the writer starts).
constexpr std::string_view kCanInsert =
    "SELECT CASE WHEN to_regclass('telemetry_events') IS NULL THEN NULL "
    "ELSE has_table_privilege('telemetry_events', 'INSERT') END";

std::string_view kind_name(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::http: return "http";
    case Event::Kind::upstream: return "upstream";
    case Event::Kind::scrape: return "scrape";
  }
  return "http";
}

// An empty text is NULL, as in the columns' meaning ("no request id").
void text_column(pg::CopyRow& row, std::string_view value) {
  if (value.empty()) {
    row.null();
  } else {
    row.text(value);
  }
}

void null_columns(pg::CopyRow& row, int count) {
  for (int i = 0; i < count; ++i) row.null();
}

// One COPY row, columns in kCopy's order, each in its column's binary type.
void append_event_row(std::string& out, const Event& e) {
  const std::string_view kind = kind_name(e.kind);
  const std::size_t text = kind.size() + e.request_id.view().size() + e.trace_id.view().size() +
                           e.method.view().size() + e.route.size() + e.name.size() + e.target.size() +
                           e.outcome.size();
  pg::CopyRow row(out, kColumns, text);
  row.text(kind);
  row.timestamptz(e.time);
  text_column(row, e.request_id.view());
  text_column(row, e.trace_id.view());
  row.float8(e.duration_seconds);
  if (e.kind == Event::Kind::http) {
    text_column(row, e.method.view());
    text_column(row, e.route);
    row.int4(e.status);
    row.int8(static_cast<std::int64_t>(e.request_bytes));
    row.int8(static_cast<std::int64_t>(e.response_bytes));
    null_columns(row, 5);
  } else {
    null_columns(row, 5);
    text_column(row, e.name);
    text_column(row, e.target);
    text_column(row, e.outcome);
    if (e.kind == Event::Kind::scrape) {
      row.int8(e.stored);
      row.int8(e.skipped);
    } else {
      null_columns(row, 2);
    }
  }
}

}  // namespace

// A submit_and_wait() caller, woken (from the strand) once its batch was tried.
struct Writer::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : done(ex, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

Writer::Writer(asio::io_context& ioc, pg::ConnectOptions connect, TelemetrySettings settings,
               std::chrono::milliseconds grace, std::chrono::milliseconds backoff_max, Registry& metrics,
               spdlog::logger& log, lifecycle::Readiness& readiness)
    : connect_(std::move(connect)),
      settings_(settings),
      grace_(grace),
      backoff_max_(backoff_max),
      log_(log),
      readiness_(readiness),
      strand_(asio::make_strand(thread_)),
      wake_(strand_),
      done_(ioc.get_executor()) {
  connect_.application_name += "-telemetry";
  settings_.batch_size = std::max<std::size_t>(1, settings_.batch_size);
  batch_size_ = &metrics.histogram("telemetry_batch_size", "Events written per COPY by the telemetry writer.", {},
                                   kBatchBuckets).with({});
  flush_seconds_ = &metrics.histogram("telemetry_flush_duration_seconds",
                                      "Time to write one batch of telemetry events.", {}, kDurationBuckets).with({});
  metrics.add_collector([this](TextWriter& out) {
    auto s = stats();
    out.family("telemetry_queued", MetricType::gauge, "Telemetry events accepted and not yet written.");
    out.sample("telemetry_queued", {}, static_cast<double>(s.queued));
    out.family("telemetry_queue_capacity", MetricType::gauge, "TELEMETRY_QUEUE_CAPACITY.");
    out.sample("telemetry_queue_capacity", {}, static_cast<double>(settings_.queue_capacity));
    out.family("telemetry_written_total", MetricType::counter, "Telemetry events written to the database.");
    out.sample("telemetry_written_total", {}, static_cast<double>(s.written));
    out.family("telemetry_dropped_total", MetricType::counter,
               "Telemetry events dropped: queue full, writer stopped or not running.");
    out.sample("telemetry_dropped_total", {}, static_cast<double>(s.dropped));
    out.family("telemetry_connected", MetricType::gauge, "1 if the telemetry writer has a database connection.");
    out.sample("telemetry_connected", {}, s.connected ? 1 : 0);
  });
}

// stop() ended the flush loop; if it was never called (start-up failed
// later), abandon what is left rather than wait for it.
Writer::~Writer() {
  thread_.stop();
  thread_.join();
}

WriterStats Writer::stats() const noexcept {
  return {pending_.load(std::memory_order_relaxed), written_.load(std::memory_order_relaxed),
          dropped_.load(std::memory_order_relaxed), connected_.load(std::memory_order_relaxed)};
}

asio::awaitable<void> Writer::start() {
  // No database round trip here: start-up must not wait for a database that
  // hangs, and the pool reports the database. The flush loop connects at once
  // and checks that it may insert; until it can, /ready says degraded.
  readiness_.add_check("telemetry", false, [this] { return check(); });
  started_ = true;
  accepting_.store(true, std::memory_order_relaxed);
  asio::co_spawn(strand_, flush_loop(), asio::bind_cancellation_slot(cancel_.slot(), [this](std::exception_ptr e) {
                   if (e) log_.error("telemetry flush loop ended with an exception");
                   loop_done_ = true;
                   done_.set();
                 }));
  log_.info("telemetry writer started: queue {} events, batches of {} or every {} ms, {} writes",
            settings_.queue_capacity, settings_.batch_size, settings_.flush_interval.count(),
            settings_.async_writes ? "asynchronous" : "synchronous");
  co_return;
}

asio::awaitable<CheckResult> Writer::check() const {
  if (denied_.load(std::memory_order_relaxed))
    co_return CheckResult::degraded("no INSERT privilege on table telemetry_events");
  if (failing_.load(std::memory_order_relaxed))
    co_return CheckResult::degraded("cannot write to the database; " + std::to_string(stats().queued) +
                                    " events queued");
  co_return CheckResult::ok();
}

std::optional<std::uint64_t> Writer::admit() noexcept {
  if (!accepting_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  const auto before = pending_.fetch_add(1, std::memory_order_relaxed);
  if (before >= settings_.queue_capacity) {
    drop_admitted(1);
    return std::nullopt;
  }
  return before;
}

void Writer::drop_admitted(std::size_t count) noexcept {
  pending_.fetch_sub(count, std::memory_order_relaxed);
  dropped_.fetch_add(count, std::memory_order_relaxed);
}

namespace {
// Threads take shards round robin on their first submit: with at most
// kShards submitting threads, each has a shard (and its mutex) to itself.
std::atomic<std::size_t> next_shard{0};
}  // namespace

void Writer::submit(Event event) noexcept {
  const auto before = admit();
  if (!before) return;
  thread_local const std::size_t my_shard = next_shard.fetch_add(1, std::memory_order_relaxed);
  Shard& shard = shards_[my_shard % kShards];
  bool stored = false;
  {
    std::lock_guard lock(shard.mutex);
    if (!shard.closed) {
      try {
        shard.events.push_back(std::move(event));
        stored = true;
      } catch (...) {  // out of memory: the event is lost, and counted
      }
    }
  }
  if (!stored) {
    drop_admitted(1);
    return;
  }
  // The flush loop announces idle_ before its last look at the shards, so
  // either it saw this event or this load sees idle_ (the shard's mutex
  // orders the two).
  if (idle_.load(std::memory_order_relaxed) && idle_.exchange(false, std::memory_order_relaxed)) {
    wake_posted_.store(true, std::memory_order_relaxed);
    wake();
    return;
  }
  // A batch is queued besides the one being written: the flush loop will
  // write it (an estimate: the counts move while we read them; a later
  // submit() looks again). One post per drain of the shards at most.
  const auto in_flight = in_flight_.load(std::memory_order_relaxed);
  const auto queued = *before + 1 > in_flight ? *before + 1 - in_flight : 0;
  if (queued >= settings_.batch_size && !wake_posted_.load(std::memory_order_relaxed) &&
      !wake_posted_.exchange(true, std::memory_order_relaxed))
    wake();
}

void Writer::wake() noexcept {
  try {
    asio::post(strand_, [this] {
      if (backoff_.count() == 0) wake_.cancel();  // during a backoff, wait it out
    });
  } catch (...) {  // out of memory: let the next submit try again
    wake_posted_.store(false, std::memory_order_relaxed);
    idle_.store(true, std::memory_order_relaxed);
  }
}

asio::awaitable<void> Writer::submit_and_wait(Event event) {
  if (!admit().has_value()) co_return;
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  asio::post(strand_, [this, item = Queued{std::move(event), waiter, {}}]() mutable { enqueue(std::move(item)); });
  co_await waiter->done.async_receive(nothrow);
}

asio::awaitable<void> Writer::record(Event event) {
  if (settings_.async_writes) {
    submit(std::move(event));
    co_return;
  }
  co_await submit_and_wait(std::move(event));
}

void Writer::enqueue(Queued item) {
  if (loop_done_) {  // raced with stop(): too late to write
    drop_admitted(1);
    if (item.waiter) item.waiter->done.try_send(boost::system::error_code{});
    return;
  }
  if (item.waiter) ++waiting_;
  item.due = Clock::now() + settings_.flush_interval;
  queue_.push_back(std::move(item));
  if (backoff_.count() == 0) wake_.cancel();  // a caller waits; during a backoff, wait it out
}

void Writer::take_shards(bool close) {
  const auto due = Clock::now() + settings_.flush_interval;
  wake_posted_.store(false, std::memory_order_relaxed);  // what comes after this drain may post again
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard.mutex);
      shard.closed = shard.closed || close;
      if (shard.events.empty()) continue;
      shard.events.swap(spare_);
    }
    for (auto& e : spare_) queue_.push_back(Queued{std::move(e), nullptr, due});
    spare_.clear();
    // A backlog (database away) grew some vector: do not keep it around.
    if (spare_.capacity() > 2 * settings_.batch_size) std::vector<Event>().swap(spare_);
  }
}

void Writer::release_waiters(std::size_t count) {
  for (std::size_t i = 0; i < count && i < queue_.size() && waiting_ > 0; ++i) {
    if (auto w = std::move(queue_[i].waiter)) {
      --waiting_;
      w->done.try_send(boost::system::error_code{});
    }
  }
}

// Connects and checks that we may insert (NULL: the table is not there yet,
// migrations run after the writer starts; the INSERT will tell).
asio::awaitable<bool> Writer::ensure_connected() {
  if (conn_ && conn_->healthy()) co_return true;
  conn_.reset();
  connected_.store(false, std::memory_order_relaxed);
  std::string failure;
  bool denied = false;
  try {
    conn_ = co_await pg::Connection::connect(strand_, connect_, log_);
    auto result = co_await conn_->query(kCanInsert);
    denied = !result.is_null(0, 0) && !result.boolean(0, 0);
  } catch (const pg::PgError& e) {
    failure = e.what();
  }
  if (denied) {
    conn_.reset();
    if (!denied_.exchange(true, std::memory_order_relaxed))
      log_.error("telemetry: no INSERT privilege on table telemetry_events; telemetry degraded, events queue up to "
                 "{} and are then dropped; checking again with backoff",
                 settings_.queue_capacity);
    failing_.store(true, std::memory_order_relaxed);
    co_return false;
  }
  if (!failure.empty()) {
    conn_.reset();
    if (!failing_.exchange(true, std::memory_order_relaxed))
      log_.warn("telemetry: cannot connect to the database: {}; {} events queued, retrying with backoff", failure,
                queue_.size());
    co_return false;
  }
  if (denied_.exchange(false, std::memory_order_relaxed) || failing_.exchange(false, std::memory_order_relaxed))
    log_.info("telemetry: connected to the database again");
  connected_.store(true, std::memory_order_relaxed);
  backoff_ = std::chrono::milliseconds{0};
  co_return true;
}

asio::awaitable<bool> Writer::write_batch() {
  const std::size_t n = std::min(queue_.size(), settings_.batch_size);
  data_.clear();
  pg::begin_copy_binary(data_);
  for (std::size_t i = 0; i < n; ++i) append_event_row(data_, queue_[i].event);
  pg::end_copy_binary(data_);
  const auto t0 = Clock::now();
  std::string failure;
  in_flight_.store(n, std::memory_order_relaxed);
  try {
    co_await conn_->copy_in(kCopy, data_);
  } catch (const pg::PgError& e) {
    failure = e.what();
  }
  in_flight_.store(0, std::memory_order_relaxed);
  if (!failure.empty()) {
    conn_.reset();  // reconnect: the simplest recovery from whatever went wrong
    connected_.store(false, std::memory_order_relaxed);
    if (!failing_.exchange(true, std::memory_order_relaxed))
      log_.warn("telemetry: writing {} events failed: {}; keeping them queued and retrying with backoff", n, failure);
    co_return false;
  }
  flush_seconds_->observe(std::chrono::duration<double>(Clock::now() - t0).count());
  batch_size_->observe(static_cast<double>(n));
  release_waiters(n);
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  written_.fetch_add(n, std::memory_order_relaxed);
  pending_.fetch_sub(n, std::memory_order_relaxed);
  if (failing_.exchange(false, std::memory_order_relaxed)) log_.info("telemetry: writing to the database again");
  backoff_ = std::chrono::milliseconds{0};
  co_return true;
}

asio::awaitable<void> Writer::sleep_backoff() {
  static thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, backoff_max_);
  wake_.expires_after(std::chrono::duration_cast<Clock::duration>(backoff_ * jitter(rng)));
  co_await wake_.async_wait(nothrow);  // stop() cuts it short: retry at once while the grace lasts
}

// On the strand. Writes a batch when batch_size events are queued, when the
// oldest has waited flush_interval, when a synchronous caller waits, or when
// stopping; returns when stopping and the queue is empty (or on cancellation,
// which stop() emits after the grace period).
asio::awaitable<void> Writer::flush_loop() {
  for (;;) {
    take_shards();
    if (stopping_ && queue_.empty()) co_return;
    // (Re)connect even with nothing queued: readiness tells the truth, and
    // the first batch does not pay for the connection.
    bool connected = co_await ensure_connected();
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
    if (!connected) {
      // Synchronous callers are not held while the database is away: their
      // events stay queued and go out with the next successful batch.
      release_waiters(queue_.size());
      co_await sleep_backoff();
      auto after = co_await asio::this_coro::cancellation_state;
      if (after.cancelled() != asio::cancellation_type::none) co_return;
      continue;
    }
    take_shards();
    bool due = stopping_ || waiting_ > 0 || queue_.size() >= settings_.batch_size ||
               (!queue_.empty() && Clock::now() >= queue_.front().due);
    if (!due) {
      if (queue_.empty()) {
        // Idle: the next submit() wakes us. Announce it, then look once more
        // (an event submitted meanwhile did not see idle_).
        idle_.store(true, std::memory_order_relaxed);
        take_shards();
        if (!queue_.empty()) {
          idle_.store(false, std::memory_order_relaxed);
          continue;
        }
        wake_.expires_at(Clock::time_point::max());
      } else {
        wake_.expires_at(queue_.front().due);
      }
      co_await wake_.async_wait(nothrow);
      idle_.store(false, std::memory_order_relaxed);
      auto woken = co_await asio::this_coro::cancellation_state;
      if (woken.cancelled() != asio::cancellation_type::none) co_return;
      continue;  // woken early by events, or on time: look again
    }
    bool written = co_await write_batch();
    auto after_write = co_await asio::this_coro::cancellation_state;
    if (after_write.cancelled() != asio::cancellation_type::none) co_return;
    if (written) continue;
    release_waiters(queue_.size());
    co_await sleep_backoff();
    auto after = co_await asio::this_coro::cancellation_state;
    if (after.cancelled() != asio::cancellation_type::none) co_return;
  }
}

asio::awaitable<void> Writer::stop() {
  accepting_.store(false, std::memory_order_relaxed);
  if (!started_) co_return;
  co_await asio::co_spawn(
      strand_,
      [this]() -> asio::awaitable<void> {
        stopping_ = true;
        wake_.cancel();
        take_shards();
        // Nothing to flush: cut short a connection attempt in flight (a
        // database that never answers would hold stop() for DB_CONNECT_TIMEOUT).
        if (queue_.empty()) cancel_.emit(asio::cancellation_type::terminal);
        co_return;
      },
      asio::use_awaitable);
  log_.info("telemetry writer stopping: flushing {} queued events within {} ms", pending_.load(), grace_.count());
  bool flushed = co_await done_.wait_for(grace_);
  if (!flushed) {
    asio::post(strand_, [this] { cancel_.emit(asio::cancellation_type::terminal); });
    bool unwound = co_await done_.wait_for(kUnwindTime);
    if (!unwound) log_.error("telemetry flush loop did not unwind within {} ms of cancellation", 2000);
  }
  std::size_t lost = 0;
  co_await asio::co_spawn(
      strand_,
      [this, &lost]() -> asio::awaitable<void> {
        take_shards(true);  // a submit() that raced with stop() finds its shard closed
        lost = queue_.size();
        release_waiters(lost);
        queue_.clear();
        waiting_ = 0;
        conn_.reset();
        co_return;
      },
      asio::use_awaitable);
  drop_admitted(lost);
  connected_.store(false, std::memory_order_relaxed);
  auto s = stats();
  if (lost > 0)
    log_.warn("telemetry writer: grace period over with {} events unwritten (database unavailable or slow)", lost);
  log_.info("telemetry writer stopped: {} events written, {} dropped", s.written, s.dropped);
}

}  // namespace svc::telemetry

#include "lib/telemetry/writer.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "lib/pg/error.hpp"
#include "lib/telemetry/logging.hpp"
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

constexpr std::string_view kInsert =
    "INSERT INTO telemetry_events (kind, at, request_id, trace_id, duration_seconds, method, route, status, "
    "request_bytes, response_bytes, name, target, outcome, stored, skipped) "
    "SELECT kind, at, request_id, trace_id, duration_seconds, method, route, status, request_bytes, "
    "response_bytes, name, target, outcome, stored, skipped "
    "FROM jsonb_to_recordset($1::jsonb) AS e(kind text, at timestamptz, request_id text, trace_id text, "
    "duration_seconds double precision, method text, route text, status integer, request_bytes bigint, "
    "response_bytes bigint, name text, target text, outcome text, stored bigint, skipped bigint)";

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

void append_text_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out.append(",\"").append(key).append("\":\"");
  append_json_escaped(out, value);
  out.push_back('"');
}

void append_int_field(std::string& out, std::string_view key, long long value) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%lld", value);
  out.append(",\"").append(key).append("\":").append(buf, static_cast<std::size_t>(n));
}

void append_event_json(std::string& out, const Event& e) {
  out.append("{\"kind\":\"").append(kind_name(e.kind)).append("\",\"at\":\"");
  append_utc_timestamp(out, e.time);
  out.push_back('"');
  char duration[32];
  int dn = std::snprintf(duration, sizeof duration, "%.9g", e.duration_seconds);
  out.append(",\"duration_seconds\":").append(duration, static_cast<std::size_t>(dn));
  append_text_field(out, "request_id", e.request_id.view());
  append_text_field(out, "trace_id", e.trace_id.view());
  if (e.kind == Event::Kind::http) {
    append_text_field(out, "method", e.method.view());
    append_text_field(out, "route", e.route);
    append_int_field(out, "status", e.status);
    append_int_field(out, "request_bytes", static_cast<long long>(e.request_bytes));
    append_int_field(out, "response_bytes", static_cast<long long>(e.response_bytes));
  } else {
    append_text_field(out, "name", e.name);
    append_text_field(out, "target", e.target);
    append_text_field(out, "outcome", e.outcome);
    if (e.kind == Event::Kind::scrape) {
      append_int_field(out, "stored", e.stored);
      append_int_field(out, "skipped", e.skipped);
    }
  }
  out.push_back('}');
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
      strand_(asio::make_strand(ioc)),
      wake_(strand_),
      done_(ioc.get_executor()) {
  connect_.application_name += "-telemetry";
  settings_.batch_size = std::max<std::size_t>(1, settings_.batch_size);
  batch_size_ = &metrics.histogram("telemetry_batch_size", "Events written per INSERT by the telemetry writer.", {},
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

Writer::~Writer() = default;

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

bool Writer::admit() noexcept {
  if (!accepting_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= settings_.queue_capacity) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Writer::submit(Event event) noexcept {
  if (!admit()) return;
  try {
    asio::post(strand_, [this, item = Queued{std::move(event), nullptr}]() mutable { enqueue(std::move(item)); });
  } catch (...) {  // out of memory: the event is lost, and counted
    pending_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

asio::awaitable<void> Writer::submit_and_wait(Event event) {
  if (!admit()) co_return;
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  asio::post(strand_, [this, item = Queued{std::move(event), waiter}]() mutable { enqueue(std::move(item)); });
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
    pending_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    if (item.waiter) item.waiter->done.try_send(boost::system::error_code{});
    return;
  }
  bool urgent = queue_.empty() || item.waiter != nullptr || queue_.size() + 1 >= settings_.batch_size;
  queue_.push_back(std::move(item));
  if (urgent && backoff_.count() == 0) wake_.cancel();  // during a backoff, wait it out
}

void Writer::release_waiters(std::size_t count) {
  for (std::size_t i = 0; i < count && i < queue_.size(); ++i) {
    if (auto w = std::move(queue_[i].waiter)) w->done.try_send(boost::system::error_code{});
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
  sql_.clear();
  sql_.push_back('[');
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) sql_.push_back(',');
    append_event_json(sql_, queue_[i].event);
  }
  sql_.push_back(']');
  const auto t0 = Clock::now();
  std::string failure;
  try {
    co_await conn_->query(kInsert, pg::Params(std::string_view(sql_)));
  } catch (const pg::PgError& e) {
    failure = e.what();
  }
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
    bool sync_waiting = std::any_of(queue_.begin(), queue_.end(), [](const Queued& q) { return q.waiter; });
    bool due = stopping_ || sync_waiting || queue_.size() >= settings_.batch_size;
    if (!due) {
      if (queue_.empty()) {
        wake_.expires_at(Clock::time_point::max());
      } else {
        wake_.expires_after(settings_.flush_interval);
      }
      auto [ec] = co_await wake_.async_wait(nothrow);
      auto woken = co_await asio::this_coro::cancellation_state;
      if (woken.cancelled() != asio::cancellation_type::none) co_return;
      // Woken early by a new event: look again; on time: write what is there.
      if (ec || queue_.empty()) continue;
    }
    if (queue_.empty()) continue;
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
        lost = queue_.size();
        release_waiters(lost);
        queue_.clear();
        conn_.reset();
        co_return;
      },
      asio::use_awaitable);
  pending_.fetch_sub(lost, std::memory_order_relaxed);
  dropped_.fetch_add(lost, std::memory_order_relaxed);
  connected_.store(false, std::memory_order_relaxed);
  auto s = stats();
  if (lost > 0)
    log_.warn("telemetry writer: grace period over with {} events unwritten (database unavailable or slow)", lost);
  log_.info("telemetry writer stopped: {} events written, {} dropped", s.written, s.dropped);
}

}  // namespace svc::telemetry

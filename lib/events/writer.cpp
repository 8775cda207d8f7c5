#include "lib/events/writer.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/with_timer.hpp"
#include "lib/pg/copy_binary.hpp"
#include "lib/pg/error.hpp"
#include "lib/telemetry/metrics.hpp"

namespace svc::events {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using lifecycle::CheckResult;
using core::nothrow;

namespace {

// After the grace period, how long a cancelled flush may take to unwind.
constexpr auto kUnwindTime = std::chrono::seconds(2);
constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
constexpr std::uint16_t kColumns = 15;

// An empty text is NULL, as in the columns' meaning ("no request id").
void text_column(pg::CopyRow& row, std::string_view value) {
  if (value.empty()) {
    row.null();
  } else {
    row.text(value);
  }
}

// Rows the database refuses for what they hold: a data exception (class
// 22: a value out of range, bytes not valid in the encoding), an integrity
// constraint (23: a CHECK, NOT NULL), a program limit (54: a row too large).
// Anything else (the database down or slow, class 08, 57, 53; a missing
// table or privilege, 42) is not the rows' fault: they are kept.
bool rows_rejected(const pg::PgError& e) {
  if (e.code_value() != pg::errc::query_failed) return false;
  const std::string_view klass = std::string_view(e.sqlstate()).substr(0, 2);
  return klass == "22" || klass == "23" || klass == "54";
}

void null_columns(pg::CopyRow& row, int count) {
  for (int i = 0; i < count; ++i) row.null();
}

// One COPY row, columns in the COPY's order, each in its column's binary type.
void append_event_row(std::string& out, const Event& e) {
  const std::size_t text = e.kind.view().size() + e.request_id.view().size() + e.trace_id.view().size() +
                           e.method.view().size() + e.route.size() + e.name.size() + e.target.size() +
                           e.outcome.size();
  pg::CopyRow row(out, kColumns, text);
  row.text(e.kind.view());
  row.timestamptz(e.time);
  text_column(row, e.request_id.view());
  text_column(row, e.trace_id.view());
  row.float8(e.duration_seconds);
  if (!e.method.empty()) {
    row.text(e.method.view());
    text_column(row, e.route);
    row.int4(e.status);
    row.int8(static_cast<std::int64_t>(e.request_bytes));
    row.int8(static_cast<std::int64_t>(e.response_bytes));
  } else {
    null_columns(row, 5);
  }
  text_column(row, e.name);
  text_column(row, e.target);
  text_column(row, e.outcome);
  for (const auto& count : e.counts) {
    if (count) {
      row.int8(*count);
    } else {
      row.null();
    }
  }
}

}  // namespace

// A submit_and_wait() caller, woken (from the writer's thread) once its batch was tried.
struct Writer::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : done(ex, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

Writer::Writer(asio::io_context& ioc, pg::ConnectOptions connect, EventSchema schema, WriterSettings settings,
               std::chrono::milliseconds grace, std::chrono::milliseconds backoff_max, telemetry::Registry& metrics,
               spdlog::logger& log, lifecycle::Readiness& readiness)
    : connect_(std::move(connect)),
      schema_(std::move(schema)),
      settings_(settings),
      grace_(grace),
      stop_deadline_(lifecycle::StopDeadline::of(ioc)),
      log_(log),
      readiness_(readiness),
      wake_(context_),
      backoff_(kFirstBackoff, backoff_max),
      done_(ioc.get_executor()) {
  connect_.application_name += "-telemetry";
  settings_.batch_size = std::max<std::size_t>(1, settings_.batch_size);
  settings_.batch_min = std::clamp<std::size_t>(settings_.batch_min, 1, settings_.batch_size);
  // Binary format: the server parses no numbers or timestamps (in text format
  // that was half its CPU per event; see docs/observability.md).
  copy_sql_ = "COPY " + schema_.table +
              " (kind, at, request_id, trace_id, duration_seconds, method, route, status, request_bytes, "
              "response_bytes, name, target, outcome, " +
              schema_.count_columns[0] + ", " + schema_.count_columns[1] + ") FROM STDIN (FORMAT binary)";
  begin_ = {{"BEGIN", {}}, {"SELECT pg_current_xact_id()::text, pg_backend_pid()", {}}};
  // NULL: the table is not there yet (migrations run after the writer starts).
  can_insert_sql_ = "SELECT CASE WHEN to_regclass($1::text) IS NULL THEN NULL ELSE has_table_privilege($1::text, 'INSERT') END";
  batch_size_ = &metrics.histogram("telemetry_batch_size", "Events written per COPY by the telemetry writer.", {},
                                   telemetry::kBatchBuckets).with({});
  flush_seconds_ = &metrics.histogram("telemetry_flush_duration_seconds",
                                      "Time to write one batch of telemetry events.", {}, telemetry::kDurationBuckets)
                        .with({});
  metrics.add_collector([this](telemetry::TextWriter& out) {
    using telemetry::MetricType;
    auto s = stats();
    out.family("telemetry_queued", MetricType::gauge, "Telemetry events accepted and not yet written.");
    out.sample("telemetry_queued", {}, static_cast<double>(s.queued));
    out.family("telemetry_queue_capacity", MetricType::gauge, "TELEMETRY_QUEUE_CAPACITY.");
    out.sample("telemetry_queue_capacity", {}, static_cast<double>(settings_.queue_capacity));
    out.family("telemetry_written_total", MetricType::counter, "Telemetry events written to the database.");
    out.sample("telemetry_written_total", {}, static_cast<double>(s.written));
    out.family("telemetry_dropped_total", MetricType::counter,
               "Telemetry events dropped: queue full, writer stopped or not running, rejected by the database.");
    out.sample("telemetry_dropped_total", {}, static_cast<double>(s.dropped));
    out.family("telemetry_rejected_total", MetricType::counter,
               "Telemetry events the database refused for what they hold (SQLSTATE class 22, 23, 54); also dropped.");
    out.sample("telemetry_rejected_total", {}, static_cast<double>(s.rejected));
    out.family("telemetry_sync_wait_timeouts_total", MetricType::counter,
               "Responses sent after TELEMETRY_SYNC_WAIT_MS without their event written; the event stayed queued.");
    out.sample("telemetry_sync_wait_timeouts_total", {}, static_cast<double>(sync_timeouts_.load()));
    out.family("telemetry_submitted_total", MetricType::counter,
               "Telemetry events submitted: written + dropped + queued.");
    out.sample("telemetry_submitted_total", {}, static_cast<double>(s.submitted));
    out.family("telemetry_connected", MetricType::gauge, "1 if the telemetry writer has a database connection.");
    out.sample("telemetry_connected", {}, s.connected ? 1 : 0);
  });
}

// stop() ended the flush loop; if it was never called (start-up failed
// later), abandon what is left rather than wait for it.
Writer::~Writer() {
  work_.reset();
  context_.stop();
  if (thread_.joinable()) thread_.join();
}

WriterStats Writer::stats() const noexcept {
  return {pending_.load(std::memory_order_relaxed), written_.load(std::memory_order_relaxed),
          dropped_.load(std::memory_order_relaxed), rejected_.load(std::memory_order_relaxed),
          submitted_.load(std::memory_order_relaxed),
          connected_.load(std::memory_order_relaxed)};
}

// stop() cancels the loop where it waits (nothing left to flush, or the
// flush time is up): the wait throws operation_aborted, which is the stop,
// not a failure. Anything else is one.
void Writer::report_loop_end(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& error) {
    const auto* system = dynamic_cast<const boost::system::system_error*>(&error);
    if (stopping_ && system != nullptr && system->code() == asio::error::operation_aborted) return;
    log_.error("telemetry flush loop failed: {}; no more events are written until restart", error.what());
  } catch (...) {
    log_.error("telemetry flush loop failed with an unknown exception; no more events are written until restart");
  }
}

asio::awaitable<void> Writer::start() {
  // No database round trip here: start-up must not wait for a database that
  // hangs, and the pool reports the database. The flush loop connects at once
  // and checks that it may insert; until it can, /ready says degraded.
  readiness_.add_check("telemetry", false, [this] { return check(); });
  started_ = true;
  accepting_.store(true, std::memory_order_relaxed);
  work_.emplace(context_.get_executor());
  asio::co_spawn(context_, flush_loop(), asio::bind_cancellation_slot(cancel_.slot(), [this](std::exception_ptr e) {
                   if (e) report_loop_end(e);
                   loop_done_ = true;
                   done_.set();
                 }));
  thread_ = std::thread([this] { context_.run(); });
  log_.info("telemetry writer started: queue {} events, a COPY of up to {} once {} wait or every {} ms, {} writes",
            settings_.queue_capacity, settings_.batch_size, settings_.batch_min, settings_.flush_interval.count(),
            settings_.async_writes ? "asynchronous" : "synchronous");
  co_return;
}

asio::awaitable<CheckResult> Writer::check() const {
  if (denied_.load(std::memory_order_relaxed))
    co_return CheckResult::degraded("no INSERT privilege on table " + schema_.table);
  if (failing_.load(std::memory_order_relaxed))
    co_return CheckResult::degraded("cannot write to the database; " + std::to_string(stats().queued) +
                                    " events queued");
  co_return CheckResult::ok();
}

std::optional<std::uint64_t> Writer::admit() noexcept {
  submitted_.fetch_add(1, std::memory_order_relaxed);
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

void Writer::submit(Event event) noexcept {
  const auto before = admit();
  if (!before) return;
  hand_over(std::move(event), nullptr, *before);
}

void Writer::hand_over(Event&& event, std::shared_ptr<Waiter> waiter, std::uint64_t pending_before) noexcept {
  bool stored = false;
  bool post = false;
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      try {
        const bool waited = waiter != nullptr;
        incoming_.emplace_back(std::move(event), std::move(waiter));
        stored = true;
        // Wake the writer when it sleeps with nothing queued, when a caller
        // waits for its event, or when a batch is ready; once per hand-over.
        // Ready counts every event not yet written (pending_), not only
        // incoming_: the writer may hold some it took earlier, too few for
        // a batch then (the first after an idle spell, taken alone).
        if (!wake_posted_ && (idle_ || waited || pending_before + 1 >= settings_.batch_min)) {
          wake_posted_ = true;
          idle_ = false;
          post = true;
        }
      } catch (...) {  // out of memory: the event is lost, and counted
      }
    }
  }
  if (!stored) {
    drop_admitted(1);
    return;
  }
  if (post) wake();
}

void Writer::wake() noexcept {
  try {
    asio::post(context_, [this] {
      if (!backing_off_) wake_.cancel();  // during a backoff, wait it out
    });
  } catch (...) {  // out of memory: let the next event try again
    std::lock_guard lock(mutex_);
    wake_posted_ = false;
  }
}

asio::awaitable<void> Writer::submit_and_wait(Event event) {
  const auto before = admit();
  if (!before) co_return;
  auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(executor);
  hand_over(std::move(event), waiter, *before);
  // Bounded: a database that stops answering must not hold every response
  // (/livez's too). Past the bound the event stays queued and goes out with
  // a later batch, as an asynchronous one would: it was admitted and counted
  // already, and dropping it would lose a good event for the database's
  // slowness. The writer's late wake-up lands in the channel, unread.
  asio::steady_timer timer(executor, settings_.sync_wait);
  auto [ec] = co_await core::with_timer(waiter->done.async_receive(nothrow), timer);
  if (ec == asio::error::timed_out) sync_timeouts_.fetch_add(1, std::memory_order_relaxed);
}

asio::awaitable<void> Writer::record(Event event) {
  if (settings_.async_writes) {
    submit(std::move(event));
    co_return;
  }
  co_await submit_and_wait(std::move(event));
}

// The writer's thread: what callers handed over joins the queue.
void Writer::take_incoming(bool close) {
  {
    std::lock_guard lock(mutex_);
    closed_ = closed_ || close;
    wake_posted_ = false;  // what comes after this may wake us again
    taken_.swap(incoming_);
  }
  if (taken_.empty()) return;
  const auto due = Clock::now() + settings_.flush_interval;
  for (auto& q : taken_) {
    if (loop_done_) {  // raced with stop(): too late to write
      drop_admitted(1);
      if (q.waiter) q.waiter->done.try_send(boost::system::error_code{});
      continue;
    }
    if (q.waiter) ++waiting_;
    q.due = due;
    queue_.push_back(std::move(q));
  }
  taken_.clear();
  // A backlog (database away) grew the vector: do not keep it around.
  if (taken_.capacity() > 2 * settings_.batch_size) std::vector<Queued>().swap(taken_);
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
    conn_ = co_await pg::Connection::connect(context_.get_executor(), connect_, log_);
    auto result = co_await conn_->query(can_insert_sql_, pg::Params(schema_.table));
    denied = !result.is_null(0, 0) && !result.boolean(0, 0);
  } catch (const pg::PgError& e) {
    failure = e.what();
  }
  if (denied) {
    conn_.reset();
    if (!denied_.exchange(true, std::memory_order_relaxed))
      log_.error("telemetry: no INSERT privilege on table {}; telemetry degraded, events queue up to {} and are then "
                 "dropped; checking again with backoff",
                 schema_.table, settings_.queue_capacity);
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
  backoff_.reset();
  co_return true;
}

// The first `count` queued events as one COPY in a transaction of its own.
asio::awaitable<Writer::Attempt> Writer::copy_head(std::size_t count) {
  data_.clear();
  pg::begin_copy_binary(data_);
  for (std::size_t i = 0; i < count; ++i) append_event_row(data_, queue_[i].event);
  pg::end_copy_binary(data_);
  Attempt attempt;
  InDoubt doubt{{}, 0, count};
  bool commit_sent = false;
  try {
    auto begun = co_await conn_->pipeline(begin_);
    doubt.xid = std::string(begun[1].text(0, 0));
    doubt.backend_pid = begun[1].int32(0, 1);
    co_await conn_->copy_in(copy_sql_, data_);
    commit_sent = true;
    co_await conn_->execute("COMMIT");
  } catch (const pg::PgError& e) {
    attempt.error = e;
    // An ERROR answer to COMMIT (a deferred constraint) is a rollback, known;
    // a COMMIT with no answer (timeout, connection lost) is not.
    if (commit_sent && !conn_->healthy()) {
      attempt.outcome = Outcome::in_doubt;
      in_doubt_ = std::move(doubt);
    } else {
      attempt.outcome = Outcome::failed;
      conn_->mark_needs_rollback();  // the transaction is open and failed: the next statement ends it first
    }
  }
  co_return attempt;
}

// The batch whose COMMIT went unanswered, on a new connection: how did its transaction end?
asio::awaitable<bool> Writer::resolve_doubt() {
  const InDoubt& d = *in_doubt_;
  try {
    for (int ask = 0; ask < 2; ++ask) {
      auto r = co_await conn_->query("SELECT pg_xact_status($1::xid8)", pg::Params(d.xid));
      const std::string status = r.is_null(0, 0) ? "unknown" : std::string(r.text(0, 0));
      if (status == "committed") {
        log_.info("telemetry: the batch of {} events whose COMMIT went unanswered was committed (transaction {}); "
                  "counted as written",
                  d.count, d.xid);
        const std::size_t count = d.count;
        in_doubt_.reset();
        pop_head(count, true);
        co_return true;
      }
      if (status != "in progress") {  // aborted; unknown: too old to tell, which does not happen in seconds
        log_.info("telemetry: the batch of {} events whose COMMIT went unanswered was not committed (transaction {}: "
                  "{}); writing it again",
                  d.count, d.xid, status);
        in_doubt_.reset();
        co_return true;
      }
      if (ask == 0) {
        // Still open: its backend may yet receive the COMMIT. End it (waiting
        // up to 2 s for it to exit, which aborts the transaction), then ask again.
        co_await conn_->query("SELECT pg_terminate_backend($1::int, 2000)", pg::Params(d.backend_pid),
                              std::chrono::seconds(5));
      }
    }
    log_.warn("telemetry: transaction {} of the batch whose COMMIT went unanswered is still open after ending "
              "backend {}; asking again with backoff",
              d.xid, d.backend_pid);
  } catch (const pg::PgError& e) {
    conn_.reset();
    connected_.store(false, std::memory_order_relaxed);
    log_.warn("telemetry: asking whether transaction {} committed failed: {}; asking again with backoff", d.xid,
              e.what());
  }
  co_return false;
}

// The first `count` queued events leave the queue: written, or dropped as rejected.
void Writer::pop_head(std::size_t count, bool written) {
  release_waiters(count);
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
  pending_.fetch_sub(count, std::memory_order_relaxed);
  if (written) {
    written_.fetch_add(count, std::memory_order_relaxed);
    return;
  }
  dropped_.fetch_add(count, std::memory_order_relaxed);
  rejected_.fetch_add(count, std::memory_order_relaxed);
}

asio::awaitable<bool> Writer::write_batch() {
  const std::size_t n = std::min(queue_.size(), settings_.batch_size);
  const auto t0 = Clock::now();
  // The spans of the batch still to write, in queue order. A span the
  // database rejects for its rows is halved until each rejected row stands
  // alone: k bad rows cost at most 2k log2(n) COPYs, and every good row is
  // written. Written spans leave the queue at once, so a span always starts
  // at its head.
  std::deque<std::size_t> spans{n};
  std::size_t written = 0;
  std::size_t rejected = 0;
  std::optional<pg::PgError> first_rejection;
  std::string first_rejected;  // which event, for the log line
  while (!spans.empty()) {
    const std::size_t len = spans.front();
    spans.pop_front();
    auto attempt = co_await copy_head(len);
    if (attempt.outcome == Outcome::committed) {
      pop_head(len, true);
      written += len;
      continue;
    }
    auto& failure = attempt.error;
    if (attempt.outcome == Outcome::in_doubt) {
      conn_.reset();
      connected_.store(false, std::memory_order_relaxed);
      failing_.store(true, std::memory_order_relaxed);
      log_.warn("telemetry: the COMMIT of {} events went unanswered: {}; asking the database whether transaction {} "
                "committed before writing anything else",
                len, failure->what(), in_doubt_->xid);
      co_return false;
    }
    if (!rows_rejected(*failure)) {
      conn_.reset();  // reconnect: the simplest recovery from whatever went wrong
      connected_.store(false, std::memory_order_relaxed);
      if (!failing_.exchange(true, std::memory_order_relaxed))
        log_.warn("telemetry: writing {} events failed: {}; keeping them queued and retrying with backoff",
                  n - written - rejected, failure->what());
      co_return false;
    }
    if (len > 1) {
      spans.push_front(len - len / 2);
      spans.push_front(len / 2);
      continue;
    }
    if (!first_rejection) {
      first_rejection = std::move(failure);
      const Event& e = queue_.front().event;
      first_rejected.append("kind ").append(e.kind.view());
      if (!e.request_id.empty()) first_rejected.append(", request_id ").append(e.request_id.view());
    }
    pop_head(1, false);
    ++rejected;
  }
  if (rejected > 0)
    log_.warn("telemetry: the database rejected {} of {} events (first: {}; SQLSTATE {}: {}); dropped and counted "
              "them, wrote the other {}",
              rejected, n, first_rejected, first_rejection->sqlstate(), first_rejection->what(), written);
  flush_seconds_->observe(std::chrono::duration<double>(Clock::now() - t0).count());
  batch_size_->observe(static_cast<double>(written));
  if (failing_.exchange(false, std::memory_order_relaxed)) log_.info("telemetry: writing to the database again");
  backoff_.reset();
  co_return true;
}

asio::awaitable<void> Writer::sleep_backoff() {
  backing_off_ = true;
  wake_.expires_after(backoff_.next());
  co_await wake_.async_wait(nothrow);  // stop() cuts it short: retry at once while the grace lasts
  backing_off_ = false;
}

// The writer's thread. Writes a batch when batch_min events are queued,
// when the oldest has waited flush_interval, when a synchronous caller waits,
// or when stopping; returns when stopping and the queue is empty (or on
// cancellation, which stop() emits after the grace period).
asio::awaitable<void> Writer::flush_loop() {
  const auto cancelled = []() -> asio::awaitable<bool> {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
  };
  for (;;) {
    take_incoming();
    if (stopping_ && queue_.empty()) co_return;
    // (Re)connect even with nothing queued: readiness tells the truth, and
    // the first batch does not pay for the connection.
    bool ready = co_await ensure_connected();
    // Nothing else is written before the database says whether the head batch was.
    if (ready && in_doubt_) ready = co_await resolve_doubt();
    if (co_await cancelled()) co_return;
    if (!ready) {
      // Synchronous callers are not held while the database is away: their
      // events stay queued and go out with the next successful batch.
      release_waiters(queue_.size());
      co_await sleep_backoff();
      if (co_await cancelled()) co_return;
      continue;
    }
    take_incoming();
    bool due = stopping_ || waiting_ > 0 || queue_.size() >= settings_.batch_min ||
               (!queue_.empty() && Clock::now() >= queue_.front().due);
    if (!due) {
      if (queue_.empty()) {
        // Idle: the next event wakes us. Announced under the mutex, so an
        // event handed over meanwhile either was taken above or sees it.
        {
          std::lock_guard lock(mutex_);
          if (!incoming_.empty()) continue;
          idle_ = true;
        }
        wake_.expires_at(Clock::time_point::max());
      } else {
        wake_.expires_at(queue_.front().due);
      }
      co_await wake_.async_wait(nothrow);
      if (co_await cancelled()) co_return;
      continue;  // woken early by events, or on time: look again
    }
    bool written = co_await write_batch();
    if (co_await cancelled()) co_return;
    if (written) continue;
    release_waiters(queue_.size());
    co_await sleep_backoff();
    if (co_await cancelled()) co_return;
  }
}

asio::awaitable<void> Writer::stop() {
  accepting_.store(false, std::memory_order_relaxed);
  if (!started_) co_return;
  co_await asio::co_spawn(
      context_,
      [this]() -> asio::awaitable<void> {
        stopping_ = true;
        backing_off_ = false;
        wake_.cancel();
        take_incoming();
        // Nothing to flush: cut short a connection attempt in flight (a
        // database that never answers would hold stop() for DB_CONNECT_TIMEOUT).
        if (queue_.empty()) cancel_.emit(asio::cancellation_type::terminal);
        co_return;
      },
      asio::use_awaitable);
  // The grace is the shutdown's, not a second one after the listener's:
  // flushing gets `grace_` from now, but ends kUnwindTime before the
  // shutdown's hard deadline (lifecycle::StopDeadline).
  const auto flush_until = stop_deadline_.wait_until(grace_, kUnwindTime);
  const auto flush_time = std::chrono::duration_cast<std::chrono::milliseconds>(flush_until - Clock::now());
  log_.info("telemetry writer stopping: flushing {} queued events within {} ms", pending_.load(),
            std::max<std::int64_t>(0, flush_time.count()));
  bool flushed = co_await done_.wait_for(flush_time);
  if (!flushed) {
    asio::post(context_, [this] { cancel_.emit(asio::cancellation_type::terminal); });
    bool unwound = co_await done_.wait_for(stop_deadline_.unwind_until(kUnwindTime) - Clock::now());
    if (!unwound)
      log_.error("telemetry flush loop did not unwind within {} ms of cancellation",
                 std::chrono::duration_cast<std::chrono::milliseconds>(kUnwindTime).count());
  }
  std::size_t lost = 0;
  co_await asio::co_spawn(
      context_,
      [this, &lost]() -> asio::awaitable<void> {
        take_incoming(true);  // an event that raced with stop() finds the door closed
        lost = queue_.size();
        release_waiters(lost);
        queue_.clear();
        waiting_ = 0;
        conn_.reset();
        co_return;
      },
      asio::use_awaitable);
  work_.reset();  // the thread ends once its last handler has run; joined by the destructor
  drop_admitted(lost);
  connected_.store(false, std::memory_order_relaxed);
  auto s = stats();
  if (lost > 0)
    log_.warn("telemetry writer: grace period over with {} events unwritten (database unavailable or slow)", lost);
  log_.info("telemetry writer stopped: {} events written, {} dropped", s.written, s.dropped);
}

}  // namespace svc::events

#include "lib/pg/pool.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/with_timer.hpp"
#include "lib/core/backoff.hpp"
#include "lib/pg/error.hpp"
#include "lib/telemetry/metrics.hpp"

namespace svc::pg {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using lifecycle::CheckResult;
using core::nothrow;

namespace {
// How long an interrupted connection may take to cancel, drain and roll back.
constexpr auto kRecoveryBudget = std::chrono::seconds(2);
// How long stop() waits for checked-out connections and for background tasks.
constexpr auto kReturnWait = std::chrono::seconds(5);
constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
// Idle connections looked at, newest first, for one already on the caller's loop.
constexpr std::ptrdiff_t kAffinityScan = 8;

long long ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }
}  // namespace

// How an acquirer queued in the slot pool is woken: a thread-safe channel,
// so that its timer is only touched by its owner. What it was handed is the
// slot pool's to tell (finish_wait), under the mutex.
struct Pool::Wakeup {
  explicit Wakeup(const asio::any_io_executor& ex) : ready(ex, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> ready;
};

// ---------------------------------------------------------------- PooledConnection

PooledConnection::PooledConnection(Pool* pool, std::unique_ptr<Connection> conn) noexcept
    : pool_(pool), conn_(std::move(conn)) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
  }
  return *this;
}

PooledConnection::~PooledConnection() { release(); }

void PooledConnection::invalidate() noexcept {
  if (conn_) conn_->mark_broken();
}

void PooledConnection::release() noexcept {
  if (conn_ && pool_) pool_->give_back(std::move(conn_));
}

// ---------------------------------------------------------------- lanes

class Pool::LaneHost final : public StatementLane::Host {
 public:
  explicit LaneHost(Pool& pool) : pool_(pool) {}
  bool reserve_slot() override { return pool_.reserve_lane_slot(); }
  asio::awaitable<std::unique_ptr<Connection>> open(asio::any_io_executor executor) override {
    return pool_.open_for_lane(std::move(executor));
  }
  void slot_closed(bool failed) override { pool_.lane_slot_closed(failed); }

 private:
  Pool& pool_;
};

// ---------------------------------------------------------------- Pool

Pool::Pool(asio::io_context& ioc, ConnectOptions connect, PoolSettings settings, spdlog::logger& log,
           lifecycle::Readiness& readiness, std::vector<asio::any_io_executor> loops)
    : ioc_(ioc),
      connect_(std::move(connect)),
      settings_(settings),
      log_(log),
      readiness_(readiness),
      slots_({settings.size, settings.max_overflow, settings.max_waiters}),
      background_done_(ioc.get_executor()),
      all_returned_(ioc.get_executor()),
      reconnect_strand_(asio::make_strand(ioc)),
      reconnect_timer_(reconnect_strand_),
      maintenance_timer_(reconnect_strand_),
      lane_host_(std::make_unique<LaneHost>(*this)) {
  connect_.statement_timeout = settings_.statement_timeout;
  connect_.statement_deadline = settings_.statement_deadline;
  connect_.tcp_user_timeout = settings_.tcp_user_timeout;
  connect_.connect_timeout = settings_.connect_timeout;
  connect_.prepared_statements = settings_.prepared_statements;

  StatementLane::Settings lane;
  lane.connections = settings_.pipeline_connections;
  lane.connection.depth = settings_.pipeline_depth;
  lane.connection.batch_reads = settings_.pipeline_batch_reads;
  lane.connection.cork = settings_.pipeline_cork;
  lane.recycle = settings_.recycle;
  if (loops.empty()) {
    lane_strand_.emplace(asio::make_strand(ioc));
    lanes_.push_back(std::make_unique<StatementLane>(*lane_strand_, *lane_host_, lane, log_));
  }
  for (auto& loop : loops) {
    lane_contexts_.push_back(&asio::query(loop, asio::execution::context));
    lanes_.push_back(std::make_unique<StatementLane>(loop, *lane_host_, lane, log_));
  }
}

Pool::~Pool() = default;

StatementLane* Pool::lane_on(const asio::any_io_executor& executor) const {
  if (lane_strand_) return lane_strand_->running_in_this_thread() ? lanes_.front().get() : nullptr;
  const auto* context = &asio::query(executor, asio::execution::context);
  for (std::size_t i = 0; i < lane_contexts_.size(); ++i)
    if (lane_contexts_[i] == context) return lanes_[i].get();
  return nullptr;
}

asio::awaitable<Result> Pool::query(std::string_view sql, const Params& params, StatementOptions options) {
  const auto budget = options.deadline.count() > 0 ? options.deadline : settings_.statement_deadline;
  return query_until(sql, params, Clock::now() + budget, options.read_only);
}

asio::awaitable<Result> Pool::query_until(std::string_view sql, const Params& params, Clock::time_point deadline,
                                          bool read_only) {
  auto executor = co_await asio::this_coro::executor;
  StatementLane* lane = lane_on(executor);
  if (lane == nullptr) {
    // Not on one of the pool's loops: run on the first lane, resume here.
    co_return co_await asio::co_spawn(lanes_.front()->executor(), query_until(sql, params, deadline, read_only),
                                      asio::use_awaitable);
  }
  if (!lane->admit()) {
    // No slot for a pipelined connection (exclusive checkouts hold them all):
    // the statement waits for one of those instead.
    auto conn = co_await acquire();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw PgError(errc::deadline_exceeded, "statement passed its deadline waiting for a connection");
    co_return co_await conn->query(sql, params, left);
  }
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, Result)>(
      [&](auto handler) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        lane->submit(sql, params, deadline, read_only, SharedStatement::Handler(std::move(handler)), slot);
      },
      asio::use_awaitable);
}

bool Pool::reserve_lane_slot() {
  std::lock_guard lock(mutex_);
  // One slot always stays for exclusive checkouts (transactions, migrations).
  const std::size_t max = settings_.size + settings_.max_overflow;
  return healthy_ && slots_.reserve(max > 1 ? max - 1 : 0);
}

asio::awaitable<std::unique_ptr<Connection>> Pool::open_for_lane(asio::any_io_executor executor) {
  // Whatever ends the open (a failure, the lane's cancellation), the slot
  // is free again unless the connection exists.
  struct Reserved {
    Pool& pool;
    bool opened = false;
    ~Reserved() {
      if (opened) return;
      std::lock_guard lock(pool.mutex_);
      core::SlotPool<std::unique_ptr<Connection>>::Wake wake;
      pool.slots_.unreserve(wake);
      pool.wake_locked(wake);
    }
  } reserved{*this};
  auto conn = co_await open_connection(std::move(executor));
  std::lock_guard lock(mutex_);
  reserved.opened = true;
  ++pipelined_open_;
  co_return conn;
}

void Pool::lane_slot_closed(bool failed) {
  std::lock_guard lock(mutex_);
  --pipelined_open_;
  if (failed) ++counters_.invalidated_total;
  Wake wake;
  slots_.unreserve(wake);
  wake_locked(wake);
  if (slots_.closed() && slots_.counts().open == 0) all_returned_.set();
}

// Idle connections are looked at every DB_PRE_PING threshold, without a round
// trip: a backend that was terminated (or a server that went away) has sent a
// FATAL message and closed, which a non-blocking read sees. Such connections,
// and those past DB_POOL_RECYCLE, are closed here rather than found by the
// next acquire (the statement path leaves idle connections idle for long).
asio::awaitable<void> Pool::maintenance_loop() {
  for (;;) {
    maintenance_timer_.expires_after(settings_.pre_ping_after);
    co_await maintenance_timer_.async_wait(nothrow);
    std::vector<std::unique_ptr<Connection>> doomed;
    {
      std::lock_guard lock(mutex_);
      if (slots_.closed()) co_return;
      const auto now = Clock::now();
      Wake wake;
      std::size_t dead = 0;
      doomed = slots_.take_idle_if(
          [&](const std::unique_ptr<Connection>& c, Clock::time_point) {
            if (!c->poll_idle()) return ++dead, true;
            return now - c->created_at() > settings_.recycle;
          },
          wake);
      counters_.invalidated_total += dead;
      wake_locked(wake);
    }
    if (!doomed.empty()) log_.info("closed {} idle database connections (broken or past DB_POOL_RECYCLE)", doomed.size());
  }
}

asio::awaitable<void> Pool::start() {
  readiness_.add_check("database", true, [this]() { return check_health(); });
  {
    std::lock_guard lock(mutex_);
    slots_.acquire();  // an empty pool: a slot to open
  }
  auto [first, error] = co_await open_reserved(ioc_.get_executor());
  if (error && error->code_value() == errc::cancelled) throw *error;  // a signal ended start-up
  std::string failure = error ? error->what() : "";
  if (first) {
    log_.info("database connected: server version {}, pool size {} + overflow {}", first->server_version(),
              settings_.size, settings_.max_overflow);
    give_back(std::move(first));
    start_maintenance();
    co_return;
  }
  if (settings_.fail_fast) {
    co_await stop();  // a failed start leaves nothing running (the reconnect loop has begun)
    throw PgError(errc::connect_failed, "database unavailable at start-up and DB_FAIL_FAST is set: " + failure);
  }
  log_.error("database unavailable at start-up: {}; serving not ready and reconnecting in the background", failure);
  start_maintenance();
}

void Pool::start_maintenance() {
  {
    std::lock_guard lock(mutex_);
    if (slots_.closed()) return;
    ++background_;  // stop() waits for it
  }
  asio::dispatch(reconnect_strand_, [this] { spawn_counted(reconnect_strand_, maintenance_loop(), {}); });
}

asio::awaitable<std::unique_ptr<Connection>> Pool::open_connection(asio::any_io_executor executor,
                                                                  Clock::time_point deadline) {
  std::unique_ptr<Connection> conn;
  std::optional<PgError> failure;
  // An acquire's DB_POOL_TIMEOUT bounds its connect too.
  const ConnectOptions* options = &connect_;
  ConnectOptions shortened;
  const bool cut_short = deadline - Clock::now() < connect_.connect_timeout;
  if (cut_short) {
    shortened = connect_;
    shortened.connect_timeout = std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()),
                                         std::chrono::milliseconds(1));
    options = &shortened;
  }
  try {
    conn = co_await Connection::connect(std::move(executor), *options, log_);
  } catch (const PgError& e) {
    failure = e;
  }
  if (failure && failure->code_value() == errc::cancelled) throw *failure;  // our caller left: no news about the database
  if (failure && cut_short && Clock::now() >= deadline) {
    // The caller's time ran out, not DB_CONNECT_TIMEOUT: no news about the database either.
    {
      std::lock_guard lock(mutex_);
      ++counters_.timeouts_total;
    }
    throw PgError(errc::pool_timeout, "no database connection within " + std::to_string(ms(settings_.acquire_timeout)) +
                                          " ms (connecting: " + failure->message() + ")");
  }
  bool start_reconnect = false;
  {
    std::lock_guard lock(mutex_);
    if (conn) {
      ++counters_.created_total;
      if (!healthy_) health_checked_ = {};  // readiness follows at once
      healthy_ = true;
      last_error_.clear();
    } else {
      ++counters_.failed_total;
      if (healthy_) {
        health_checked_ = {};
        log_.error("database connection failed: {}; reconnecting in the background", failure->what());
      }
      healthy_ = false;
      last_error_ = failure->what();
      start_reconnect = !slots_.closed() && !reconnecting_;
      if (start_reconnect) {
        reconnecting_ = true;
        ++background_;  // now, under the lock: stop() must wait for it
      }
    }
  }
  if (start_reconnect) {
    // Spawned on the strand: reconnect_cancel_ is only touched there.
    asio::dispatch(reconnect_strand_, [this] {
      spawn_counted(reconnect_strand_, reconnect_loop(), reconnect_cancel_.slot());
    });
  }
  if (!conn) throw *failure;
  server_version_.store(conn->server_version(), std::memory_order_relaxed);
  co_return conn;
}

// The caller holds a slot to open: it becomes an open connection, or is
// freed for the next waiter (who will most likely fail fast too, instead of
// timing out).
asio::awaitable<Pool::Opened> Pool::open_reserved(asio::any_io_executor executor, Clock::time_point deadline) {
  Opened result;
  // The slot is freed on every way out but success, including the
  // cancellation Asio throws at a co_await once our caller is cancelled.
  struct Opening {
    Pool& pool;
    Opened& result;
    ~Opening() {
      std::lock_guard lock(pool.mutex_);
      if (result.conn) {
        pool.slots_.opened();
        return;
      }
      Wake wake;
      pool.slots_.open_failed(result.error ? result.error->message() : std::string("connect abandoned"), wake);
      pool.wake_locked(wake);
    }
  };
  {
    Opening opening{*this, result};
    try {
      result.conn = co_await open_connection(std::move(executor), deadline);
    } catch (const PgError& e) {
      result.error = e;
    }
  }
  co_return result;
}

asio::awaitable<bool> Pool::validate(Connection& conn, Clock::time_point idle_since, Clock::time_point deadline) {
  if (!conn.healthy()) co_return false;
  if (!settings_.pre_ping || Clock::now() - idle_since < settings_.pre_ping_after) co_return true;
  bool alive = true;
  try {
    // Within what is left of the acquire's DB_POOL_TIMEOUT (and the statement deadline).
    const auto left = std::min(std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()),
                               settings_.statement_deadline);
    if (left.count() <= 0) throw PgError(errc::timeout, "no time left for the pre-ping");
    co_await conn.query("SELECT 1", {}, left);
  } catch (const PgError& e) {
    alive = false;
    log_.info("pre-ping failed on an idle connection: {}; discarding it", e.what());
  }
  if (!alive) conn.mark_broken();
  co_return alive;
}

void Pool::record_wait(Clock::time_point started) {
  double waited = std::chrono::duration<double>(Clock::now() - started).count();
  std::lock_guard lock(mutex_);
  ++counters_.acquired_total;
  counters_.wait_seconds_total += waited;
  counters_.wait_seconds_max = std::max(counters_.wait_seconds_max, waited);
  constexpr auto& bounds = telemetry::kDurationBuckets;
  static_assert(std::tuple_size_v<decltype(PoolStats::wait_buckets)> == bounds.size() + 1);
  ++counters_.wait_buckets[static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), waited) -
                                                    bounds.begin())];
}

asio::awaitable<PooledConnection> Pool::acquire() {
  const auto started = Clock::now();
  const auto deadline = started + settings_.acquire_timeout;
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    Slots::Grant grant;
    std::shared_ptr<Wakeup> wakeup;
    bool lanes_hold_slots = false;
    {
      std::lock_guard lock(mutex_);
      // Among the recent idle ones, one already on our event loop saves moving its socket.
      grant = slots_.acquire([&](const std::unique_ptr<Connection>& c) { return c->executor() == executor; },
                             kAffinityScan);
      if (grant.kind == Slots::Grant::Kind::wait) {
        wakeup = std::make_shared<Wakeup>(executor);
        wakeups_.emplace(grant.waiter, wakeup);
        lanes_hold_slots = slots_.counts().reserved > 0;
      }
    }
    std::unique_ptr<Connection> candidate;
    Clock::time_point idle_since{};
    bool just_used = false;
    bool connect_new = false;
    switch (grant.kind) {
      case Slots::Grant::Kind::closed: throw PgError(errc::pool_closed, "database pool is closed");
      case Slots::Grant::Kind::crowded: {
        std::lock_guard lock(mutex_);
        ++counters_.timeouts_total;
        throw PgError(errc::pool_timeout, std::to_string(settings_.max_waiters) +
                                              " callers are already waiting for a database connection");
      }
      case Slots::Grant::Kind::idle:
        candidate = std::move(grant.conn);
        idle_since = grant.idle_since;
        break;
      case Slots::Grant::Kind::open: connect_new = true; break;
      case Slots::Grant::Kind::wait: {
        auto outcome = co_await wait_for_slot(grant.waiter, *wakeup, deadline, lanes_hold_slots);
        using Out = Slots::Outcome::Kind;
        if (outcome.kind == Out::closed) throw PgError(errc::pool_closed, "database pool is closed");
        if (outcome.kind == Out::cancelled)
          throw PgError(errc::cancelled, "waiting for a database connection was cancelled");
        if (outcome.kind == Out::timed_out) {
          std::string message = "no database connection available within " + std::to_string(ms(settings_.acquire_timeout)) +
                                " ms (" + std::to_string(slots_.limits().size + slots_.limits().max_overflow) + " in use)";
          if (!outcome.last_error.empty()) message += "; last connect error: " + outcome.last_error;
          throw PgError(errc::pool_timeout, std::move(message));
        }
        if (outcome.kind == Out::open) connect_new = true;
        candidate = std::move(outcome.conn);
        just_used = outcome.just_used;
        break;
      }
    }

    if (connect_new) {
      auto [conn, failure] = co_await open_reserved(ioc_.get_executor(), deadline);
      if (!conn) throw *failure;
      conn->rehome(executor);
      record_wait(started);
      co_return PooledConnection(this, std::move(conn));
    }
    // Lent to us from here: if anything below throws (our caller's
    // cancellation included), the guard gives it back.
    candidate->rehome(executor);  // before the pre-ping: it runs on our loop too
    PooledConnection lent(this, std::move(candidate));
    // Handed over by its last user a moment ago: no pre-ping.
    const bool ok = just_used ? lent->healthy() : co_await validate(*lent, idle_since, deadline);
    if (ok) {
      record_wait(started);
      co_return lent;
    }
    lent.invalidate();
    lent = PooledConnection();  // broken: counted and closed; then try again
    if (Clock::now() >= deadline) {
      std::lock_guard lock(mutex_);
      ++counters_.timeouts_total;
      throw PgError(errc::pool_timeout, "no working database connection within " +
                                            std::to_string(ms(settings_.acquire_timeout)) + " ms");
    }
  }
}

// Sleeps until the slot pool hands the waiter something, its deadline, or
// our caller's cancellation; then asks the slot pool what it has.
asio::awaitable<Pool::Slots::Outcome> Pool::wait_for_slot(Slots::WaiterId id, Wakeup& wakeup,
                                                        Clock::time_point deadline, bool lanes_hold_slots) {
  if (lanes_hold_slots) {
    // Pipelined connections with nothing in flight give their slots up.
    for (auto& lane : lanes_) asio::post(lane->executor(), [l = lane.get()] { l->yield_idle(); });
  }
  bool cancelled = false;
  try {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    auto [ec] = co_await core::with_timer(wakeup.ready.async_receive(nothrow), timer);
    cancelled = ec == asio::error::operation_aborted;  // timed_out is the deadline, settled below
  } catch (const boost::system::system_error&) {
    cancelled = true;  // Asio refuses to start a wait once we are cancelled
  }
  std::lock_guard lock(mutex_);
  wakeups_.erase(id);
  Wake wake;
  auto outcome = slots_.finish_wait(id, cancelled, wake);
  if (outcome.kind == Slots::Outcome::Kind::timed_out) ++counters_.timeouts_total;
  wake_locked(wake);
  co_return outcome;
}

void Pool::wake_locked(const Wake& wake) {
  for (const auto id : wake) {
    auto it = wakeups_.find(id);
    if (it != wakeups_.end()) it->second->ready.try_send(boost::system::error_code{});
  }
}

void Pool::give_back(std::unique_ptr<Connection> conn) noexcept {
  const char* why = nullptr;
  bool reusable = true;
  if (conn->broken()) {
    why = "broken";
  } else if (conn->timed_out()) {
    // Its statement passed its deadline: the server did not answer in time,
    // and a cancel request would wait on it too. Replaced, not recovered.
    why = "timed-out";
  } else if (conn->interrupted() || conn->needs_rollback() ||
             conn->transaction_status() != Connection::TxStatus::idle) {
    // Still lent (to the recovery) until it is clean again, or discarded.
    spawn_background(ioc_.get_executor(), recover(std::move(conn)));
    return;
  } else if (Clock::now() - conn->created_at() > settings_.recycle) {
    why = "recycled";
    reusable = false;
  }
  if (why != nullptr) reusable = false;
  std::optional<std::unique_ptr<Connection>> doomed;
  {
    std::lock_guard lock(mutex_);
    Wake wake;
    doomed = slots_.give_back(std::move(conn), reusable, Clock::now(), wake);
    wake_locked(wake);
    if (why != nullptr) ++counters_.invalidated_total;
    if (slots_.closed() && slots_.counts().open == 0) all_returned_.set();
  }
  if (why != nullptr && doomed) log_.debug("closed a {} connection", why);
  // `doomed` (if any) closes its connection here, outside the mutex.
}

asio::awaitable<void> Pool::recover(std::unique_ptr<Connection> conn) {
  bool ok = false;
  try {
    ok = co_await conn->recover(kRecoveryBudget);
  } catch (const std::exception& e) {
    log_.warn("recovering an interrupted connection failed: {}", e.what());
  }
  if (!ok) {
    log_.info("discarding a connection that could not be recovered after an interrupted query");
    conn->mark_broken();
  }
  give_back(std::move(conn));
}

void Pool::spawn_background(asio::any_io_executor executor, asio::awaitable<void> task) {
  {
    std::lock_guard lock(mutex_);
    ++background_;
  }
  spawn_counted(std::move(executor), std::move(task), {});
}

void Pool::spawn_counted(asio::any_io_executor executor, asio::awaitable<void> task, asio::cancellation_slot slot) {
  asio::co_spawn(executor, std::move(task), asio::bind_cancellation_slot(slot, [this](std::exception_ptr e) {
    if (e) log_.error("a database pool background task ended with an exception");
    bool last = false;
    {
      std::lock_guard lock(mutex_);
      last = --background_ == 0 && slots_.closed();
    }
    if (last) background_done_.set();
  }));
}

// Runs on reconnect_strand_ (the timer lives there) while the database is
// unreachable, with core::Backoff: its cap bounds how long readiness lags
// behind a recovered database.
asio::awaitable<void> Pool::reconnect_loop() {
  core::Backoff backoff(kFirstBackoff, settings_.reconnect_backoff_max);
  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard lock(mutex_);
      if (slots_.closed() || healthy_) {
        reconnecting_ = false;
        co_return;
      }
    }
    reconnect_timer_.expires_after(backoff.next());
    co_await reconnect_timer_.async_wait(nothrow);
    std::unique_ptr<Connection> idle;
    {
      std::lock_guard lock(mutex_);
      if (slots_.closed()) {
        reconnecting_ = false;
        co_return;
      }
      auto grant = slots_.acquire();
      if (grant.kind == Slots::Grant::Kind::wait) {  // every slot is taken: try again later
        Wake wake;
        slots_.finish_wait(grant.waiter, true, wake);
        wake_locked(wake);
        continue;
      }
      if (grant.kind != Slots::Grant::Kind::open) {
        // An idle connection from before the outage: the pre-ping and the
        // maintenance loop judge it; our attempt waits for a free slot.
        idle = std::move(grant.conn);
      }
    }
    if (idle) {
      give_back(std::move(idle));
      continue;
    }
    auto [conn, failure] = co_await open_reserved(ioc_.get_executor());
    if (conn) {
      log_.info("database connection restored after {} attempts", attempt);
      give_back(std::move(conn));
      continue;  // healthy now: the next turn ends the loop
    }
    if (failure->code_value() == errc::cancelled) continue;  // stop(): the next turn ends the loop
    if (attempt == 1 || attempt % 20 == 0)
      log_.warn("database still unavailable after {} attempts: {}; retrying with backoff up to {} ms", attempt,
                failure->what(),
                ms(settings_.reconnect_backoff_max));
  }
}

asio::awaitable<CheckResult> Pool::check_health() {
  {
    std::lock_guard lock(mutex_);
    if (!healthy_) co_return CheckResult::failed("Database connection failed");
    if (Clock::now() - health_checked_ < settings_.health_cache) co_return health_cached_;
  }
  // On the statement path, beside the requests: it answers within the
  // statement deadline or readiness fails, even when every connection is busy.
  CheckResult result = CheckResult::ok();
  try {
    co_await query("SELECT 1", {}, {.read_only = true});
  } catch (const PgError& e) {
    result = CheckResult::failed(e.is_timeout() ? "Database did not answer within the statement deadline"
                                                : "Database connection failed");
    log_.warn("readiness check SELECT 1 failed: {}", e.what());
  }
  {
    std::lock_guard lock(mutex_);
    health_checked_ = Clock::now();
    health_cached_ = result;
  }
  co_return result;
}

PoolStats Pool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats s = counters_;
  const auto c = slots_.counts();
  s.size = c.open;
  s.idle = c.idle;
  s.pipelined = pipelined_open_;
  s.checked_out = c.lent;
  s.overflow = c.open > settings_.size ? c.open - settings_.size : 0;
  s.connecting = c.opening + (c.reserved - pipelined_open_);
  s.waiting = c.waiting;
  s.max = c.max;
  s.healthy = healthy_;
  s.last_error = last_error_;
  for (const auto& lane : lanes_) {
    const auto l = lane->stats();
    s.statements_in_flight += l.in_flight;
    s.statements_waiting += l.waiting;
    s.statements_total += l.statements_total;
    s.statement_failures_total += l.failed_total;
    s.deadline_failures_total += l.deadline_failures_total;
    s.dead_connections_total += l.dead_connections_total;
    s.statements_retried_total += l.retried_total;
  }
  return s;
}

asio::awaitable<void> Pool::stop() {
  // Refuse new checkouts and pipelined connections, fail the waiters, close
  // the idle connections (outside the mutex).
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(mutex_);
    Wake wake;
    closing = slots_.close(wake);
    wake_locked(wake);
  }
  const std::size_t closed_idle = closing.size();
  closing.clear();
  // Each lane on its own loop: answers its statements with pool_closed and
  // closes its pipelined connections there.
  for (auto& lane : lanes_) co_await asio::co_spawn(lane->executor(), lane->stop(), asio::use_awaitable);
  std::size_t checked_out = 0;
  {
    std::lock_guard lock(mutex_);
    checked_out = slots_.counts().lent;
    if (slots_.counts().open == 0) all_returned_.set();
    if (background_ == 0) background_done_.set();
  }
  // Also cuts short a connection attempt in flight (a database that accepts
  // TCP and never answers would otherwise hold stop() for DB_CONNECT_TIMEOUT).
  asio::post(reconnect_strand_, [this] {
    reconnect_timer_.cancel();
    maintenance_timer_.cancel();
    reconnect_cancel_.emit(asio::cancellation_type::terminal);
  });
  log_.info("database pool stopping: closed {} idle connections, waiting for {} in use", closed_idle, checked_out);

  bool returned = co_await all_returned_.wait_for(kReturnWait);
  if (!returned) log_.warn("{} database connections still in use after {} ms; abandoning them", stats().size, ms(kReturnWait));
  bool joined = co_await background_done_.wait_for(kReturnWait + settings_.connect_timeout);
  if (!joined) log_.warn("database pool background tasks did not finish in time");
  auto s = stats();
  log_.info("database pool stopped: {} created, {} failed, {} invalidated over its life", s.created_total,
            s.failed_total, s.invalidated_total);
}

}  // namespace svc::pg

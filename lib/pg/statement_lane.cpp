#include "lib/pg/statement_lane.hpp"

#include <algorithm>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace svc::pg {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Where = SharedStatement::Where;

namespace {
long long ms_until(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}
}  // namespace

// Emitted on the caller's loop (Asio's rule), which is the lane's.
struct StatementLane::CancelHandler {
  StatementLane* lane;
  SharedStatement* statement;
  void operator()(asio::cancellation_type) const { lane->cancel(*statement); }
};

StatementLane::StatementLane(asio::any_io_executor executor, Host& host, Settings settings, spdlog::logger& log)
    : executor_(std::move(executor)), host_(host), settings_(settings), log_(log) {
  timer_.emplace(executor_);
  settings_.connections = std::max<std::size_t>(settings_.connections, 1);
  settings_.connection.depth = std::max<std::size_t>(settings_.connection.depth, 1);
}

StatementLane::~StatementLane() = default;

LaneStats StatementLane::stats() const noexcept {
  constexpr auto r = std::memory_order_relaxed;
  LaneStats s;
  s.connections = connections_now_.load(r);
  s.in_flight = in_flight_now_.load(r);
  s.waiting = waiting_now_.load(r);
  s.statements_total = statements_total_.load(r);
  s.failed_total = failed_total_.load(r);
  s.deadline_failures_total = deadline_total_.load(r);
  s.dead_connections_total = dead_total_.load(r);
  s.retried_total = retried_total_.load(r);
  return s;
}

void StatementLane::publish() noexcept {
  constexpr auto r = std::memory_order_relaxed;
  connections_now_.store(connections_.size(), r);
  in_flight_now_.store(in_flight_, r);
  waiting_now_.store(waiting_live_, r);
}

// ---------------------------------------------------------------- statements

SharedStatement& StatementLane::allocate() {
  if (free_.empty()) return *statements_.emplace_back(std::make_unique<SharedStatement>());
  SharedStatement* s = free_.back();
  free_.pop_back();
  return *s;
}

void StatementLane::recycle_if_done(SharedStatement& s) {
  if (!s.answered || s.where != Where::nowhere) return;
  s.reset();
  free_.push_back(&s);
}

bool StatementLane::admit() {
  if (closing_) return true;  // submit() answers pool_closed
  if (!connections_.empty() || connecting_) return true;
  if (!host_.reserve_slot()) return false;
  connecting_ = true;
  ++tasks_;
  asio::co_spawn(executor_, connect_one(), asio::bind_cancellation_slot(connect_cancel_.slot(), [this](std::exception_ptr) {
                   task_ended();
                 }));
  return true;
}

void StatementLane::submit(std::string_view sql, const Params& params, Clock::time_point deadline, bool read_only,
                           SharedStatement::Handler handler, asio::cancellation_slot slot) {
  SharedStatement& s = allocate();
  s.sql = sql;
  s.params = &params;
  s.deadline = deadline;
  s.read_only = read_only;
  s.handler.emplace(std::move(handler));
  if (slot.is_connected()) {
    s.slot = slot;
    slot.emplace<CancelHandler>(CancelHandler{this, &s});
  }
  statements_total_.fetch_add(1, std::memory_order_relaxed);
  if (closing_) {
    s.error = PgError(errc::pool_closed, "database pool is closed");
    answer(s);
    recycle_if_done(s);
    return;
  }
  arm(deadline);
  route(s);
  publish();
}

void StatementLane::route(SharedStatement& s) {
  PipelinedConnection* conn = pick();
  // Spread over as many connections as allowed as soon as statements overlap:
  // each backend is one CPU of the server.
  if ((conn == nullptr || conn->in_flight() > 0) && may_grow()) grow();
  if (conn != nullptr) {
    conn->enqueue(s);
    ++in_flight_;
    return;
  }
  if (connections_.empty() && !connecting_) {
    // No connection and none can be opened: the database is down or the
    // pool is full. Fail fast, like an acquire while the database is down.
    s.error = last_connect_error_.value_or(PgError(errc::connect_failed, "no database connection available"));
    answer(s);
    recycle_if_done(s);
    return;
  }
  s.where = Where::waiting;
  waiting_.push_back(&s);
  ++waiting_live_;
}

PipelinedConnection* StatementLane::pick() noexcept {
  PipelinedConnection* best = nullptr;
  const auto now = Clock::now();
  for (auto& c : connections_) {
    if (!c->draining() && !c->dead() && now - c->created_at() > settings_.recycle) {
      c->drain();  // DB_POOL_RECYCLE: no new statements; closed once the last is read
      if (c->in_flight() == 0) c->kill(PgError(errc::connection_lost, "connection recycled"), true);
    }
    if (!c->accepting(settings_.connection.depth)) continue;
    if (best == nullptr || c->in_flight() < best->in_flight()) best = c.get();
  }
  return best;
}

bool StatementLane::may_grow() const noexcept {
  return !closing_ && !connecting_ && connections_.size() < settings_.connections;
}

void StatementLane::grow() {
  if (!host_.reserve_slot()) return;
  connecting_ = true;
  ++tasks_;
  asio::co_spawn(executor_, connect_one(), asio::bind_cancellation_slot(connect_cancel_.slot(), [this](std::exception_ptr) {
                   task_ended();
                 }));
}

asio::awaitable<void> StatementLane::connect_one() {
  std::unique_ptr<Connection> conn;
  std::optional<PgError> failure;
  try {
    conn = co_await host_.open(executor_);
  } catch (const PgError& e) {
    failure = e;
  }
  connecting_ = false;
  if (closing_) {
    if (conn) {
      conn.reset();
      host_.slot_closed(false);
    }
    co_return;
  }
  if (!conn) {
    last_connect_error_ = failure;
    // Nobody else will open a connection for them soon: fail fast.
    if (connections_.empty()) fail_waiting(*failure);
    publish();
    co_return;
  }
  last_connect_error_.reset();
  const int pid = conn->backend_pid();
  Owner& owner = *this;
  auto& pc = *connections_.emplace_back(std::make_unique<PipelinedConnection>(std::move(conn), owner, settings_.connection));
  if (pc.dead()) log_.error("could not put a database connection into pipeline mode; closing it");
  log_.debug("pipelined database connection opened (backend PID {})", pid);
  start_run(pc);
  publish();
  dispatch_waiting();
}

void StatementLane::start_run(PipelinedConnection& conn) {
  ++tasks_;
  asio::co_spawn(executor_, conn.run(), [this, c = &conn](std::exception_ptr e) {
    if (e) log_.error("a pipelined database connection's reader ended with an exception");
    connection_ended(c);
    task_ended();
  });
}

void StatementLane::connection_ended(PipelinedConnection* conn) {
  auto it = std::find_if(connections_.begin(), connections_.end(), [conn](const auto& c) { return c.get() == conn; });
  if (it == connections_.end()) return;
  const bool failed = (*it)->failed();
  connections_.erase(it);  // closes the socket (PQfinish), on this loop
  host_.slot_closed(failed);
  publish();
  if (!closing_ && !waiting_.empty()) {
    if (may_grow()) grow();
    dispatch_waiting();
  }
}

void StatementLane::dispatch_waiting() {
  while (!waiting_.empty()) {
    SharedStatement& s = *waiting_.front();
    if (s.answered) {
      waiting_.pop_front();
      s.where = Where::nowhere;
      recycle_if_done(s);
      continue;
    }
    PipelinedConnection* conn = pick();
    if (conn == nullptr) break;
    waiting_.pop_front();
    --waiting_live_;
    conn->enqueue(s);
    ++in_flight_;
  }
  if (!waiting_.empty() && pick() == nullptr && may_grow()) grow();
  publish();
}

void StatementLane::fail_waiting(const PgError& why) {
  std::deque<SharedStatement*> failing;
  failing.swap(waiting_);
  for (auto* s : failing) {
    s->where = Where::nowhere;
    if (!s->answered) {
      --waiting_live_;
      s->error = why;
      answer(*s);
    }
    recycle_if_done(*s);
  }
}

// ---------------------------------------------------------------- Owner

void StatementLane::answer(SharedStatement& s) {
  if (s.answered) return;
  s.answered = true;
  if (s.slot.is_connected()) s.slot.clear();
  std::exception_ptr error;
  if (s.error) {
    failed_total_.fetch_add(1, std::memory_order_relaxed);
    if (s.error->code_value() == errc::deadline_exceeded) deadline_total_.fetch_add(1, std::memory_order_relaxed);
    error = std::make_exception_ptr(*s.error);
  }
  // Posted, not called: the caller resumes after the lane is done with this
  // turn, never inside the connection's read loop. Its coroutine runs on
  // this loop (Pool::query hops here when called from elsewhere).
  SharedStatement::Handler handler(std::move(*s.handler));
  s.handler.reset();
  asio::post(executor_, asio::append(std::move(handler), error, std::move(s.result)));
}

void StatementLane::released(SharedStatement& s, bool unsent) {
  --in_flight_;
  if (unsent && !closing_) {
    route(s);  // never reached the server: send it on another connection
  } else if (unsent) {
    s.error = PgError(errc::pool_closed, "database pool is closed");
    answer(s);
  }
  recycle_if_done(s);
  // A recycled connection closes once its last statement is read.
  for (auto& c : connections_)
    if (c->draining() && c->in_flight() == 0) c->kill(PgError(errc::connection_lost, "connection recycled"), true);
  if (!waiting_.empty()) dispatch_waiting();
  publish();
}

void StatementLane::resent(SharedStatement&) { retried_total_.fetch_add(1, std::memory_order_relaxed); }

void StatementLane::cancel(SharedStatement& s) {
  if (s.answered) return;
  if (s.where == Where::waiting) --waiting_live_;
  s.error = PgError(errc::cancelled, "statement cancelled by its caller");
  answer(s);
  // Waiting: dropped from the queue later. On a connection: not sent if it
  // was not yet, its result dropped if it was.
  recycle_if_done(s);
  publish();
}

// ---------------------------------------------------------------- deadlines

void StatementLane::arm(Clock::time_point deadline) {
  if (!timer_ || deadline >= armed_until_) return;
  armed_until_ = deadline;
  timer_->expires_at(deadline);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) sweep();  // operation_aborted: re-armed earlier, or stopping
  });
}

void StatementLane::sweep() {
  if (closing_) return;
  const auto now = Clock::now();
  armed_until_ = Clock::time_point::max();
  auto next = Clock::time_point::max();
  const auto expire = [&](SharedStatement& s, std::string_view where) {
    if (s.answered) return;
    if (s.deadline > now) {
      next = std::min(next, s.deadline);
      return;
    }
    s.error = PgError(errc::deadline_exceeded, std::string("statement passed its deadline ") + std::string(where));
    answer(s);
  };
  for (auto* s : waiting_) {
    if (!s->answered && s->deadline <= now) --waiting_live_;
    expire(*s, "waiting for room on a database connection");
  }
  std::erase_if(waiting_, [this](SharedStatement* s) {
    if (!s->answered) return false;
    s->where = Where::nowhere;
    recycle_if_done(*s);
    return true;
  });

  std::vector<PipelinedConnection*> dead;
  for (auto& c : connections_) {
    if (c->dead()) continue;
    const auto oldest = c->oldest_deadline();
    if (oldest <= now) {
      dead.push_back(c.get());
      continue;
    }
    next = std::min(next, oldest);
    c->for_each([&](SharedStatement& s) { expire(s, "behind another statement on its database connection"); });
  }
  for (auto* c : dead) {
    dead_total_.fetch_add(1, std::memory_order_relaxed);
    log_.warn("database connection (backend PID {}) missed the deadline of its oldest statement by {} ms; failing "
              "its {} statements with deadline_exceeded and replacing it",
              c->backend_pid(), ms_until(c->oldest_deadline(), now), c->in_flight());
    c->kill(PgError(errc::deadline_exceeded,
                    "the database did not answer within the statement deadline; connection replaced"));
  }
  if (next != Clock::time_point::max()) arm(next);
  publish();
}

void StatementLane::yield_idle() {
  if (closing_) return;
  for (auto& c : connections_) {
    if (c->dead() || c->in_flight() != 0) continue;
    c->drain();
    c->kill(PgError(errc::connection_lost, "pipelined connection closed for an exclusive checkout"), true);
    return;
  }
}

// ---------------------------------------------------------------- stop

void StatementLane::task_ended() {
  --tasks_;
  if (tasks_ == 0 && stop_waiter_ != nullptr) stop_waiter_->cancel();
}

asio::awaitable<void> StatementLane::stop(Clock::time_point until) {
  closing_ = true;
  const PgError closed(errc::pool_closed, "database pool is closed");
  fail_waiting(closed);
  connect_cancel_.emit(asio::cancellation_type::terminal);
  std::vector<PipelinedConnection*> open;
  for (auto& c : connections_) open.push_back(c.get());
  for (auto* c : open) c->kill(closed, true);
  if (timer_) timer_->cancel();

  asio::steady_timer wake(executor_, until);
  stop_waiter_ = &wake;
  while (tasks_ > 0) {
    auto [ec] = co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) break;  // the bound passed
  }
  stop_waiter_ = nullptr;
  if (tasks_ > 0) log_.error("{} pipelined database tasks did not end within the pool's stop bound", tasks_);
  timer_.reset();  // its I/O object belongs to this loop: destroyed here, before the loop is
  publish();
}

}  // namespace svc::pg

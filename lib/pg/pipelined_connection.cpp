#include "lib/pg/pipelined_connection.hpp"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/core/with_timer.hpp"
#include "lib/pg/libpq_errors.hpp"

namespace svc::pg {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using Wait = asio::posix::stream_descriptor::wait_type;

namespace {
using core::nothrow;
}  // namespace

PipelinedConnection::PipelinedConnection(std::unique_ptr<Connection> conn, Owner& owner, Settings settings)
    : conn_(std::move(conn)), owner_(owner), settings_(settings) {
  if (PQenterPipelineMode(conn_->native()) == 0) {
    dead_ = killed_ = true;  // run() returns at once; the lane sees dead()
  }
}

PipelinedConnection::~PipelinedConnection() = default;

void PipelinedConnection::drain() noexcept { draining_ = true; }

Clock::time_point PipelinedConnection::oldest_deadline() const noexcept {
  for (const auto& e : expected_)
    if (e.statement != nullptr) return e.statement->deadline;
  // Nothing sent: the oldest is the first still queued.
  for (const auto* s : queued_)
    if (!s->answered) return s->deadline;
  return Clock::time_point::max();
}

void PipelinedConnection::for_each(const std::function<void(SharedStatement&)>& f) const {
  const SharedStatement* last = nullptr;
  for (const auto& e : expected_) {
    // A statement has up to three entries in a row (prepare, execute, sync).
    if (e.statement == nullptr || e.statement == last) continue;
    last = e.statement;
    f(*e.statement);
  }
  for (auto* s : queued_) f(*s);
}

void PipelinedConnection::enqueue(SharedStatement& s) {
  s.where = SharedStatement::Where::connection;
  ++in_flight_;
  queued_.push_back(&s);
  schedule_flush();
}

// Statements submitted during one turn of the event loop are written
// together by a handler that runs after that turn's handlers: one write (and
// one wake-up of the backend) for all of them.
void PipelinedConnection::schedule_flush() {
  if (flush_scheduled_ || dead_) return;
  flush_scheduled_ = true;
  asio::post(conn_->executor(), [this] { flush_queued(); });
}

void PipelinedConnection::set_cork(bool on) noexcept {
  // libpq 15's PQpipelineSync sends at once; corked, each Sync only appends
  // to the socket's queue and uncorking sends the turn's statements together.
  const int value = on ? 1 : 0;
  ::setsockopt(PQsocket(conn_->native()), IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

void PipelinedConnection::flush_queued() {
  flush_scheduled_ = false;
  if (dead_ || queued_.empty()) return;
  std::size_t syncs = 0;
  for (const auto* s : queued_) syncs += (s->answered || (s->read_only && !s->isolated && settings_.batch_reads)) ? 0 : 1;
  const bool corked = settings_.cork && syncs > 1;
  if (corked) set_cork(true);
  bool shared_unit_open = false;
  while (!queued_.empty() && !dead_) {
    SharedStatement& s = *queued_.front();
    queued_.pop_front();
    if (s.answered) {  // left before it was sent: never sent
      release(s, false);
      continue;
    }
    const bool shares = settings_.batch_reads && s.read_only && !s.isolated;
    if (!shares && shared_unit_open) {
      send_sync(nullptr);
      shared_unit_open = false;
    }
    send(s);
    if (shares) {
      shared_unit_open = true;
    } else {
      send_sync(&s);
    }
  }
  if (shared_unit_open && !dead_) send_sync(nullptr);
  if (!dead_) flush_output();
  if (corked && !dead_) set_cork(false);
}

void PipelinedConnection::send(SharedStatement& s) {
  PGconn* pq = conn_->native();
  const auto values = s.params->pointers();
  const int n = static_cast<int>(values.size());
  const Prepared* ready = nullptr;
  const std::string* new_key = nullptr;
  if (conn_->uses_prepared_statements()) {
    auto it = prepared_.find(s.sql);
    if (it != prepared_.end()) {
      if (it->second.ready) ready = &it->second;
      // else: its Parse is still unconfirmed; this one goes unnamed, so that
      // it does not depend on another caller's statement.
    } else if (prepared_.size() < settings_.max_prepared) {
      auto [at, inserted] = prepared_.emplace(std::string(s.sql), Prepared{std::to_string(++statements_named_).insert(0, 1, 'p')});
      new_key = &at->first;
    }
  }
  bool ok = true;
  if (new_key != nullptr) {
    const auto& name = prepared_.at(*new_key).name;
    ok = PQsendPrepare(pq, name.c_str(), new_key->c_str(), n, nullptr) != 0;
    if (ok) expected_.push_back({Expected::Kind::prepare, &s, new_key});
    ok = ok && PQsendQueryPrepared(pq, name.c_str(), n, values.data(), nullptr, nullptr, 0) != 0;
  } else if (ready != nullptr) {
    ok = PQsendQueryPrepared(pq, ready->name.c_str(), n, values.data(), nullptr, nullptr, 0) != 0;
  } else {
    ok = PQsendQueryParams(pq, std::string(s.sql).c_str(), n, nullptr, values.data(), nullptr, nullptr, 0) != 0;
  }
  // Listed even on failure, so that kill() answers it with the others.
  expected_.push_back({Expected::Kind::execute, &s, nullptr});
  // The statement may be half in libpq's buffer: the connection is unusable.
  if (!ok) kill(PgError(errc::connection_lost, libpq_error(pq)));
}

void PipelinedConnection::send_sync(SharedStatement* isolated) {
  if (PQpipelineSync(conn_->native()) == 0) {
    kill(PgError(errc::connection_lost, libpq_error(conn_->native())));
    return;
  }
  expected_.push_back({Expected::Kind::sync, isolated, nullptr});
}

void PipelinedConnection::flush_output() {
  const int r = PQflush(conn_->native());
  if (r < 0) {
    kill(PgError(errc::connection_lost, libpq_error(conn_->native())));
    return;
  }
  const bool more = r == 1;
  if (more && !want_write_) {
    // run() waits for reads only: wake it to wait for writability too.
    want_write_ = true;
    conn_->socket().cancel();
  }
  want_write_ = more;
}

asio::awaitable<void> PipelinedConnection::run() {
  auto& socket = conn_->socket();
  while (!dead_) {
    boost::system::error_code ec;
    bool readable = true;
    if (want_write_) {
      // libpq's rule: while output is pending, read too; the server may be
      // blocked sending us results and take no more input until we read.
      auto which = co_await (socket.async_wait(Wait::wait_read, nothrow) || socket.async_wait(Wait::wait_write, nothrow));
      readable = which.index() == 0;
      ec = readable ? std::get<0>(std::get<0>(which)) : std::get<0>(std::get<1>(which));
    } else {
      auto [e] = co_await socket.async_wait(Wait::wait_read, nothrow);
      ec = e;
    }
    if (dead_) break;
    if (ec == asio::error::operation_aborted) continue;  // flush_output() asked for a write wait
    if (ec) {
      kill(PgError(errc::connection_lost, "database socket failed: " + ec.message()));
      break;
    }
    if (!readable) {
      flush_output();
      continue;
    }
    if (PQconsumeInput(conn_->native()) == 0) {
      kill(PgError(errc::connection_lost, libpq_error(conn_->native())));
      break;
    }
    read_results();
    if (want_write_ && !dead_) flush_output();
  }
  if (!killed_) finish_kill();
  // A posted flush_queued() still refers to this object: let it run first.
  while (flush_scheduled_) co_await asio::post(conn_->executor(), asio::use_awaitable);
}

void PipelinedConnection::read_results() {
  PGconn* pq = conn_->native();
  reading_ = true;
  int nulls_in_a_row = 0;
  while (!expected_.empty() && !dead_) {
    if (PQisBusy(pq) != 0) break;  // the rest has not arrived yet
    Result r(PQgetResult(pq));
    const Expected e = expected_.front();
    if (r.raw() == nullptr) {
      if (e.kind == Expected::Kind::sync) {
        // A Sync yields PGRES_PIPELINE_SYNC, not NULL; twice means libpq and
        // we disagree about what is in flight.
        if (++nulls_in_a_row > 1) kill(PgError(errc::protocol, "pipeline out of step with the server"));
        continue;
      }
      nulls_in_a_row = 0;
      expected_.pop_front();
      end_command(e);
      continue;
    }
    nulls_in_a_row = 0;
    SharedStatement* s = e.statement;
    const auto status = PQresultStatus(r.raw());
    switch (status) {
      case PGRES_PIPELINE_SYNC:
        if (e.kind != Expected::Kind::sync) {
          kill(PgError(errc::protocol, "pipeline out of step with the server"));
          break;
        }
        expected_.pop_front();
        end_unit(e);
        break;
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        if (e.kind == Expected::Kind::prepare) {
          prepared_.at(*e.sql_key).ready = true;
        } else if (e.kind == Expected::Kind::execute) {
          s->result = std::move(r);
        }
        break;
      case PGRES_FATAL_ERROR: {
        PgError error = error_from_result(r.raw());
        if (e.kind == Expected::Kind::prepare) forget_prepared(e.sql_key);
        // On a sync: the unit's transaction failed at its end (a deferred
        // constraint): that belongs to the unit's isolated statement.
        if (s != nullptr && !s->error) s->error = error;
        if (sqlstate_kills_connection(error.sqlstate())) kill(error);
        break;
      }
      case PGRES_PIPELINE_ABORTED:
        if (e.kind == Expected::Kind::prepare) forget_prepared(e.sql_key);
        if (e.kind == Expected::Kind::execute) s->aborted = true;
        break;
      default:
        // COPY and friends cannot come from these statements.
        kill(PgError(errc::protocol, std::string("unexpected result in pipeline: ") + PQresStatus(status)));
        break;
    }
  }
  reading_ = false;
  if (dead_ && !killed_) finish_kill();
}

// The results of one command are complete.
void PipelinedConnection::end_command(const Expected& e) {
  if (e.kind != Expected::Kind::execute) return;
  SharedStatement& s = *e.statement;
  if (s.isolated || !settings_.batch_reads || !s.read_only) return;  // answered at its Sync
  // A read in a shared unit: its outcome is final now.
  if (s.aborted && !s.error) {
    // It never ran: another statement of its unit failed. Alone this time.
    s.aborted = false;
    s.isolated = true;
    if (s.answered) {
      release(s, false);
      return;
    }
    s.result = Result();
    owner_.resent(s);
    queued_.push_back(&s);  // still counted in in_flight_
    schedule_flush();
    return;
  }
  if (!s.answered) owner_.answer(s);
  release(s, false);
}

// A Sync came back: its unit's transaction has ended.
void PipelinedConnection::end_unit(const Expected& e) {
  if (e.statement == nullptr) return;  // a shared unit: its reads were answered one by one
  SharedStatement& s = *e.statement;
  if (s.aborted && !s.error) s.error = PgError(errc::protocol, "statement skipped by the server without an error");
  if (!s.answered) owner_.answer(s);
  release(s, false);
}

void PipelinedConnection::release(SharedStatement& s, bool unsent) {
  if (s.where != SharedStatement::Where::connection) return;
  s.where = SharedStatement::Where::nowhere;
  --in_flight_;
  owner_.released(s, unsent);
}

void PipelinedConnection::forget_prepared(const std::string* key) {
  // Not prepared after all (an error, or skipped): the next use prepares again.
  if (key != nullptr) prepared_.erase(*key);
}

void PipelinedConnection::kill(const PgError& why, bool orderly) {
  if (dead_) return;
  dead_ = true;
  orderly_ = orderly;
  kill_error_ = why;
  if (!reading_) finish_kill();
}

void PipelinedConnection::finish_kill() {
  if (killed_) return;
  killed_ = true;
  const PgError why = kill_error_.value_or(PgError(errc::connection_lost, "database connection closed"));
  // Sent statements: their outcome is unknown; each caller gets the error.
  std::deque<Expected> sent;
  sent.swap(expected_);
  for (const auto& e : sent) {
    if (e.statement == nullptr || e.statement->where != SharedStatement::Where::connection) continue;
    SharedStatement& s = *e.statement;
    if (!s.answered) {
      s.error = why;
      owner_.answer(s);
    }
    release(s, false);
  }
  // Unsent statements never reached the server: the lane sends them elsewhere.
  std::deque<SharedStatement*> unsent;
  unsent.swap(queued_);
  for (auto* s : unsent) release(*s, !s->answered);
  boost::system::error_code ignored;
  conn_->socket().cancel(ignored);  // wakes run()
  conn_->mark_broken();
}

}  // namespace svc::pg

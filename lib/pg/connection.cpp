#include "lib/pg/connection.hpp"

#include <libpq-fe.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/with_timer.hpp"
#include "lib/config/database_url.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/host_resolution.hpp"
#include "lib/pg/libpq_errors.hpp"

namespace svc::pg {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using Wait = asio::posix::stream_descriptor::wait_type;
using core::nothrow;

namespace {

Clock::time_point after(std::chrono::milliseconds d) {
  return d.count() > 0 ? Clock::now() + d : Clock::time_point::max();
}

// TCP keepalives and TCP_USER_TIMEOUT on every connection, so that a peer
// that vanished without a RST (failover, partition) breaks the socket
// instead of leaving it silent. No `options` startup parameter unless a
// server-side statement_timeout is asked for: PgBouncer refuses it (1.18
// refuses `options` altogether, later versions any untracked parameter in
// it), and TimeZone/DateStyle are set after connecting instead (see
// ensure_session_format).
std::string full_conninfo(const ConnectOptions& o) {
  std::string out = o.conninfo;
  if (!o.application_name.empty())
    out.append(" application_name=").append(config::quote_conninfo_value(o.application_name));
  if (o.statement_timeout.count() > 0) {
    const std::string options = "-c statement_timeout=" + std::to_string(o.statement_timeout.count());
    out.append(" options=").append(config::quote_conninfo_value(options));
  }
  out.append(" keepalives=1 keepalives_idle=10 keepalives_interval=3 keepalives_count=3");
  if (o.tcp_user_timeout.count() > 0) out.append(" tcp_user_timeout=").append(std::to_string(o.tcp_user_timeout.count()));
  return out;
}

// The names PostgreSQL reports for UTC (pg_timezone_names: offset 0, no DST).
bool is_utc(std::string_view zone) {
  if (zone.starts_with("Etc/")) zone.remove_prefix(4);
  for (std::string_view name : {"UTC", "UCT", "Universal", "Zulu"})
    if (zone == name) return true;
  return false;
}

// A connect that failed on the startup option names the setting behind it.
std::string connect_error(const PGconn* conn, const ConnectOptions& o) {
  std::string message = libpq_error(conn);
  if (o.statement_timeout.count() > 0 && message.find("unsupported startup parameter") != std::string::npos)
    message += " (DB_STATEMENT_TIMEOUT is sent as the startup option `options`, which PgBouncer refuses: set it "
               "to 0 and set statement_timeout on the role instead)";
  return message;
}

void log_notice(void* arg, const char* message) {
  static_cast<spdlog::logger*>(arg)->info("postgres notice: {}", one_line(message));
}

// Waits until the descriptor is ready, or the deadline passes (timed_out),
// or the awaiting coroutine is cancelled (operation_aborted). Once it is,
// Asio throws at every later co_await instead of starting the wait: that is
// the same cancellation, reported the same way, so that the caller marks the
// connection interrupted whichever wait it happened in.
asio::awaitable<boost::system::error_code> wait_ready(asio::posix::stream_descriptor& socket, Wait type,
                                                      Clock::time_point deadline) {
  try {
    if (deadline == Clock::time_point::max()) {
      auto [ec] = co_await socket.async_wait(type, nothrow);
      co_return ec;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    auto [ec] = co_await core::with_timer(socket.async_wait(type, nothrow), timer);
    co_return ec;
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
}

// PQcancel blocks until the server closes the cancel connection: it runs on
// a thread of its own, and the caller waits at most until `deadline`. A
// thread still blocked then (a server that accepts and never answers) ends
// when TCP gives up. It touches only its own PGcancel and an eventfd it
// shares with the waiter, never the waiter's io_context: a post() from it
// could still be inside Asio (signalling the scheduler) when the waiter has
// resumed and the io_context is being destroyed (a TSan report, 2026-12-02).
asio::awaitable<bool> send_cancel(PGconn* conn, Clock::time_point deadline) {
  struct Outcome {
    explicit Outcome(int f) : fd(f) {}
    Outcome(const Outcome&) = delete;
    Outcome& operator=(const Outcome&) = delete;
    ~Outcome() { ::close(fd); }
    const int fd;  // the thread's end; the waiter waits on a dup of it
    std::atomic<bool> sent{false};
  };
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) co_return false;
  auto outcome = std::make_shared<Outcome>(fd);
  const int waiter_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (waiter_fd < 0) co_return false;
  asio::posix::stream_descriptor signal(co_await asio::this_coro::executor, waiter_fd);
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) co_return false;
  std::thread([cancel, outcome] {
    char err[256];
    outcome->sent.store(PQcancel(cancel, err, sizeof err) != 0, std::memory_order_release);
    PQfreeCancel(cancel);
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(outcome->fd, &one, sizeof one);  // fails only on counter overflow
  }).detach();
  const auto ec = co_await wait_ready(signal, Wait::wait_read, deadline);
  co_return !ec && outcome->sent.load(std::memory_order_acquire);
}

// PQflush could not send everything. libpq's rule: wait until the socket is
// readable or writable; the server may be blocked sending us results, and
// only reading them lets it take more input.
asio::awaitable<boost::system::error_code> wait_flushable(asio::posix::stream_descriptor& socket,
                                                          Clock::time_point deadline) {
  auto either = [](asio::posix::stream_descriptor& s) -> asio::awaitable<std::tuple<boost::system::error_code>> {
    auto which = co_await (s.async_wait(Wait::wait_read, nothrow) || s.async_wait(Wait::wait_write, nothrow));
    co_return which.index() == 0 ? std::get<0>(which) : std::get<1>(which);
  };
  try {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    auto [ec] = co_await core::with_timer(either(socket), timer);
    co_return ec;
  } catch (const boost::system::system_error& e) {  // cancelled before the wait: see wait_ready
    co_return e.code();
  }
}

}  // namespace

void Connection::ConnDeleter::operator()(pg_conn* c) const noexcept { PQfinish(c); }

Connection::Connection(pg_conn* conn, asio::any_io_executor executor, const ConnectOptions& options,
                       spdlog::logger& log)
    : conn_(conn),
      executor_(executor),
      socket_(executor, PQsocket(conn)),
      log_(log),
      prepared_statements_(options.prepared_statements),
      statement_deadline_(options.statement_deadline),
      created_at_(Clock::now()) {
  PQsetNoticeProcessor(conn, &log_notice, &log_);
}

void Connection::rehome(const asio::any_io_executor& executor) {
  if (executor == executor_ || !socket_.is_open()) return;
  const int fd = socket_.release();  // deregisters from the old loop's reactor
  socket_ = asio::posix::stream_descriptor(executor, fd);
  executor_ = executor;
}

Connection::~Connection() {
  // libpq owns the socket: PQfinish closes it, the descriptor must not.
  if (socket_.is_open()) socket_.release();
}

asio::awaitable<std::unique_ptr<Connection>> Connection::connect(asio::any_io_executor executor,
                                                                 const ConnectOptions& options, spdlog::logger& log) {
  auto deadline = after(options.connect_timeout);
  const auto timed_out = [&options] {
    return PgError(errc::connect_failed, "connect timed out after " + std::to_string(options.connect_timeout.count()) + " ms");
  };
  std::string conninfo;
  try {
    conninfo = co_await resolve_hosts(full_conninfo(options), deadline);
  } catch (const PgError& e) {
    if (e.code_value() == errc::timeout) throw timed_out();
    throw;
  }
  std::unique_ptr<pg_conn, ConnDeleter> conn(PQconnectStart(conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) throw PgError(errc::connect_failed, connect_error(conn.get(), options));
  if (PQsetnonblocking(conn.get(), 1) != 0) throw PgError(errc::connect_failed, libpq_error(conn.get()));

  // libpq owns the fd: the descriptor only borrows it, and gives it back on
  // every way out (PQfinish closes it; closing it here too could close a
  // descriptor some other thread has been given meanwhile).
  struct Borrowed {
    asio::posix::stream_descriptor socket;
    ~Borrowed() {
      if (socket.is_open()) socket.release();
    }
  } borrowed{asio::posix::stream_descriptor(executor)};
  auto& socket = borrowed.socket;
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  boost::system::error_code ec;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) throw PgError(errc::connect_failed, connect_error(conn.get(), options));
    // The socket can change between attempts (several hosts, SSL retry).
    int fd = PQsocket(conn.get());
    if (fd < 0) throw PgError(errc::connect_failed, libpq_error(conn.get()));
    if (!socket.is_open() || socket.native_handle() != fd) {
      if (socket.is_open()) socket.release();
      socket.assign(fd);
    }
    ec = co_await wait_ready(socket, poll == PGRES_POLLING_READING ? Wait::wait_read : Wait::wait_write, deadline);
    if (ec == asio::error::timed_out) throw timed_out();
    if (ec) throw PgError(errc::cancelled, "connect cancelled");
    poll = PQconnectPoll(conn.get());
  }
  if (socket.is_open()) socket.release();  // before the Connection registers the fd again
  std::unique_ptr<Connection> connection(new Connection(conn.release(), executor, options, log));
  co_await connection->ensure_session_format(deadline);
  co_return connection;
}

// The Result parser needs ISO dates, and timestamps read back in UTC keep
// logs and /debug comparable across servers. The server reports both at
// start-up (ParameterStatus, forwarded by PgBouncer too); only when they
// differ does one SET go out. DateStyle and TimeZone are among the
// parameters PgBouncer tracks per client and re-applies on whichever server
// connection serves it, so this is safe in transaction pooling, where any
// other SET would leak to other clients.
asio::awaitable<void> Connection::ensure_session_format(Clock::time_point deadline) {
  const char* datestyle = PQparameterStatus(conn_.get(), "DateStyle");
  const char* zone = PQparameterStatus(conn_.get(), "TimeZone");
  std::string set;
  if (datestyle == nullptr || !std::string_view(datestyle).starts_with("ISO")) set += "SET DateStyle = 'ISO';";
  if (zone == nullptr || !is_utc(zone)) set += "SET TimeZone = 'UTC';";
  if (set.empty()) co_return;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (deadline != Clock::time_point::max() && left.count() <= 0)
    throw PgError(errc::connect_failed, "connect timed out before the session's DateStyle and TimeZone were set");
  try {
    co_await execute(set, deadline == Clock::time_point::max() ? std::chrono::milliseconds{0} : left);
  } catch (const PgError& e) {
    if (e.code_value() == errc::cancelled) throw;
    throw PgError(errc::connect_failed, "setting DateStyle and TimeZone after connecting failed: " + e.message());
  }
}

bool Connection::healthy() const noexcept {
  return conn_ && PQstatus(conn_.get()) == CONNECTION_OK && !broken_ && !interrupted_;
}

bool Connection::poll_idle() noexcept {
  // The FATAL message and the EOF after it may take two reads.
  for (int i = 0; i < 2 && !broken(); ++i)
    if (PQconsumeInput(conn_.get()) == 0) broken_ = true;
  return !broken();
}

bool Connection::broken() const noexcept { return broken_ || !conn_ || PQstatus(conn_.get()) != CONNECTION_OK; }

Connection::TxStatus Connection::transaction_status() const noexcept {
  switch (PQtransactionStatus(conn_.get())) {
    case PQTRANS_IDLE: return TxStatus::idle;
    case PQTRANS_ACTIVE: return TxStatus::active;
    case PQTRANS_INTRANS: return TxStatus::in_transaction;
    case PQTRANS_INERROR: return TxStatus::in_error;
    default: return TxStatus::unknown;
  }
}

int Connection::backend_pid() const noexcept { return PQbackendPID(conn_.get()); }
int Connection::server_version() const noexcept { return PQserverVersion(conn_.get()); }

Clock::time_point Connection::deadline_after(std::chrono::milliseconds timeout) const {
  return after(timeout.count() > 0 ? timeout : statement_deadline_);
}

void Connection::fail_io(const boost::system::error_code& ec, bool timed_out) {
  // The server may still be working on our query: the connection needs recover().
  interrupted_ = true;
  if (timed_out) {
    timed_out_ = true;
    throw PgError(errc::timeout, "query timed out");
  }
  throw PgError(errc::cancelled, "query cancelled: " + ec.message());
}

asio::awaitable<void> Connection::flush(Clock::time_point deadline) {
  for (;;) {
    int r = PQflush(conn_.get());
    if (r == 0) co_return;
    if (r < 0) {
      broken_ = true;
      throw PgError(errc::connection_lost, libpq_error(conn_.get()));
    }
    auto ec = co_await wait_flushable(socket_, deadline);
    if (ec) fail_io(ec, ec == asio::error::timed_out);
    if (PQconsumeInput(conn_.get()) == 0) {
      broken_ = true;
      throw PgError(errc::connection_lost, libpq_error(conn_.get()));
    }
  }
}

asio::awaitable<void> Connection::wait_readable(Clock::time_point deadline) {
  auto ec = co_await wait_ready(socket_, Wait::wait_read, deadline);
  if (ec) fail_io(ec, ec == asio::error::timed_out);
  if (PQconsumeInput(conn_.get()) == 0) {
    broken_ = true;
    throw PgError(errc::connection_lost, libpq_error(conn_.get()));
  }
}

// Reads the results of one command (until PQgetResult returns NULL) and
// returns the last one; a server error is thrown after the command is drained,
// so the connection stays usable.
asio::awaitable<Result> Connection::collect_one(Clock::time_point deadline) {
  Result last;
  std::optional<PgError> error;
  for (;;) {
    while (PQisBusy(conn_.get()) != 0) co_await wait_readable(deadline);
    PGresult* raw = PQgetResult(conn_.get());
    if (raw == nullptr) break;
    Result r(raw);
    switch (PQresultStatus(raw)) {
      case PGRES_FATAL_ERROR:
        if (!error) error = error_from_result(raw);
        break;
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        last = std::move(r);
        break;
      case PGRES_PIPELINE_ABORTED:  // skipped after an earlier error; a NULL still follows
        if (!error) error = PgError(errc::query_failed, "statement skipped after an earlier error in the pipeline");
        break;
      case PGRES_PIPELINE_SYNC:
        last = std::move(r);
        co_return last;  // the sync marker is not followed by a NULL
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        // Still in COPY mode (a COPY sent through query(), or copy_in unable
        // to end it): PQgetResult would return this forever.
        broken_ = true;
        throw PgError(errc::protocol, "connection is in COPY mode");
      default:
        if (!error) error = PgError(errc::protocol, std::string("unsupported result: ") + PQresStatus(PQresultStatus(raw)));
        break;
    }
  }
  if (error) {
    if (sqlstate_kills_connection(error->sqlstate())) broken_ = true;
    throw *error;
  }
  co_return last;
}

std::string Connection::statement_name(std::string_view sql, bool& needs_prepare) {
  // Looked up by string_view: no copy of the SQL per statement.
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) {
    needs_prepare = false;
    return it->second;
  }
  needs_prepare = true;
  std::string name = std::to_string(++statements_named_).insert(0, 1, 's');  // never reused, even after a failed prepare
  prepared_.emplace(std::string(sql), name);
  return name;
}

asio::awaitable<void> Connection::finish_pending_rollback(Clock::time_point deadline) {
  needs_rollback_ = false;
  if (transaction_status() == TxStatus::in_transaction || transaction_status() == TxStatus::in_error) {
    if (PQsendQuery(conn_.get(), "ROLLBACK") == 0) throw PgError(errc::connection_lost, libpq_error(conn_.get()));
    co_await flush(deadline);
    co_await collect_one(deadline);
  }
}

asio::awaitable<Result> Connection::query(std::string_view sql, const Params& params, std::chrono::milliseconds timeout) {
  if (interrupted_) throw PgError(errc::protocol, "connection used after an interrupted query without recovery");
  auto deadline = deadline_after(timeout);
  if (needs_rollback_) co_await finish_pending_rollback(deadline);
  auto values = params.pointers();
  const int n = static_cast<int>(values.size());

  if (!prepared_statements_) {
    if (PQsendQueryParams(conn_.get(), std::string(sql).c_str(), n, nullptr, values.data(), nullptr, nullptr, 0) == 0)
      throw PgError(errc::connection_lost, libpq_error(conn_.get()));
    co_await flush(deadline);
    Result r = co_await collect_one(deadline);
    co_return r;
  }

  bool needs_prepare = false;
  std::string name = statement_name(sql, needs_prepare);
  if (needs_prepare) {
    std::optional<PgError> prepare_error;
    if (PQsendPrepare(conn_.get(), name.c_str(), std::string(sql).c_str(), n, nullptr) == 0) {
      prepared_.erase(std::string(sql));
      throw PgError(errc::connection_lost, libpq_error(conn_.get()));
    }
    try {
      co_await flush(deadline);
      co_await collect_one(deadline);
    } catch (const PgError& e) {
      prepare_error = e;
    }
    if (prepare_error) {
      // Not prepared after all (syntax error) or unknown (interrupted): forget it;
      // an interrupted connection is discarded by recover(), so no name clash later.
      prepared_.erase(std::string(sql));
      if (prepare_error->code_value() == errc::cancelled || prepare_error->code_value() == errc::timeout)
        broken_ = true;
      throw *prepare_error;
    }
  }
  if (PQsendQueryPrepared(conn_.get(), name.c_str(), n, values.data(), nullptr, nullptr, 0) == 0)
    throw PgError(errc::connection_lost, libpq_error(conn_.get()));
  co_await flush(deadline);
  Result r = co_await collect_one(deadline);
  co_return r;
}

asio::awaitable<void> Connection::execute(std::string_view sql, std::chrono::milliseconds timeout) {
  if (interrupted_) throw PgError(errc::protocol, "connection used after an interrupted query without recovery");
  const auto deadline = deadline_after(timeout);
  if (needs_rollback_) co_await finish_pending_rollback(deadline);
  if (PQsendQuery(conn_.get(), std::string(sql).c_str()) == 0) throw PgError(errc::connection_lost, libpq_error(conn_.get()));
  co_await flush(deadline);
  co_await collect_one(deadline);
}

asio::awaitable<std::vector<Result>> Connection::pipeline(const std::vector<Statement>& statements,
                                                          std::chrono::milliseconds timeout) {
  if (interrupted_) throw PgError(errc::protocol, "connection used after an interrupted query without recovery");
  const auto deadline = deadline_after(timeout);
  if (needs_rollback_) co_await finish_pending_rollback(deadline);
  if (PQenterPipelineMode(conn_.get()) == 0) throw PgError(errc::protocol, libpq_error(conn_.get()));

  // Queue everything, one sync, one flush: a single round trip.
  std::vector<bool> is_prepare;  // per queued command: a PQsendPrepare (no caller-visible result)
  std::vector<std::string> newly_prepared;
  bool queued = true;
  for (const auto& st : statements) {
    auto values = st.params.pointers();
    const int n = static_cast<int>(values.size());
    const std::string& sql = st.sql;
    if (prepared_statements_) {
      bool needs_prepare = false;
      std::string name = statement_name(sql, needs_prepare);
      if (needs_prepare) {
        newly_prepared.push_back(sql);
        queued = queued && PQsendPrepare(conn_.get(), name.c_str(), sql.c_str(), n, nullptr) != 0;
        is_prepare.push_back(true);
      }
      queued = queued && PQsendQueryPrepared(conn_.get(), name.c_str(), n, values.data(), nullptr, nullptr, 0) != 0;
    } else {
      queued = queued && PQsendQueryParams(conn_.get(), sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0) != 0;
    }
    is_prepare.push_back(false);
  }
  queued = queued && PQpipelineSync(conn_.get()) != 0;
  if (!queued) {
    broken_ = true;
    throw PgError(errc::connection_lost, libpq_error(conn_.get()));
  }

  std::vector<Result> results;
  std::optional<PgError> first_error;
  std::exception_ptr io_error;
  try {
    co_await flush(deadline);
    std::size_t prepare_index = 0;
    for (bool prepare : is_prepare) {
      bool failed = false;
      try {
        Result r = co_await collect_one(deadline);
        if (!prepare) results.push_back(std::move(r));
      } catch (const PgError& e) {
        if (e.code_value() != errc::query_failed) throw;
        if (!first_error) first_error = e;
        failed = true;
      }
      // A prepare that failed or was skipped does not exist on the server.
      if (prepare && failed) prepared_.erase(newly_prepared[prepare_index]);
      if (prepare) ++prepare_index;
    }
    Result sync = co_await collect_one(deadline);
    if (PQresultStatus(sync.raw()) != PGRES_PIPELINE_SYNC) throw PgError(errc::protocol, "pipeline out of sync");
  } catch (...) {
    io_error = std::current_exception();
  }
  if (io_error) {
    // Interrupted or lost mid-pipeline: the connection's state is unknown.
    broken_ = true;
    std::rethrow_exception(io_error);
  }
  PQexitPipelineMode(conn_.get());
  if (first_error) throw *first_error;  // statements after the failed one were skipped
  co_return results;
}

// Sends the COPY statement and waits for the server to enter COPY IN mode.
// An error result (no such table, no privilege) is drained and thrown.
asio::awaitable<void> Connection::start_copy_in(std::string_view copy_sql, Clock::time_point deadline) {
  if (PQsendQuery(conn_.get(), std::string(copy_sql).c_str()) == 0)
    throw PgError(errc::connection_lost, libpq_error(conn_.get()));
  co_await flush(deadline);
  while (PQisBusy(conn_.get()) != 0) co_await wait_readable(deadline);
  Result first(PQgetResult(conn_.get()));
  const auto status = first.raw() ? PQresultStatus(first.raw()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COPY_IN) co_return;
  std::optional<PgError> error;
  if (first.raw() && status == PGRES_FATAL_ERROR) {
    error = error_from_result(first.raw());
  } else {
    error = PgError(errc::protocol, "COPY FROM STDIN expected, got " +
                                        std::string(first.raw() ? PQresStatus(status) : "no result"));
  }
  if (first.raw()) co_await collect_one(deadline);  // the NULL that ends the command; nothing else follows
  if (sqlstate_kills_connection(error->sqlstate())) broken_ = true;
  throw *error;
}

// COPY IN mode: the data in chunks (libpq buffers what it is given; flushing
// after each chunk keeps the buffer small), then the end-of-copy.
asio::awaitable<void> Connection::send_copy_data(std::string_view data, Clock::time_point deadline) {
  constexpr std::size_t kChunk = 64 * 1024;
  for (std::size_t at = 0; at < data.size(); at += kChunk) {
    const auto n = std::min(kChunk, data.size() - at);
    int r = PQputCopyData(conn_.get(), data.data() + at, static_cast<int>(n));
    while (r == 0) {  // not queued: the output buffer is full, wait until the socket takes some
      co_await flush(deadline);
      r = PQputCopyData(conn_.get(), data.data() + at, static_cast<int>(n));
    }
    // -1: the connection is lost, or the server already rejected the COPY
    // (libpq left COPY IN mode): stop sending, the caller reads the error.
    if (r < 0) co_return;
    co_await flush(deadline);
  }
  int r = PQputCopyEnd(conn_.get(), nullptr);
  while (r == 0) {
    co_await flush(deadline);
    r = PQputCopyEnd(conn_.get(), nullptr);
  }
  if (r > 0) co_await flush(deadline);
}

asio::awaitable<std::uint64_t> Connection::copy_in(std::string_view copy_sql, std::string_view data,
                                                   std::chrono::milliseconds timeout) {
  if (interrupted_) throw PgError(errc::protocol, "connection used after an interrupted query without recovery");
  auto deadline = deadline_after(timeout);
  if (needs_rollback_) co_await finish_pending_rollback(deadline);
  co_await start_copy_in(copy_sql, deadline);

  Result done;
  std::exception_ptr failure;
  try {
    co_await send_copy_data(data, deadline);
    done = co_await collect_one(deadline);
  } catch (const PgError& e) {
    if (e.code_value() != errc::query_failed) broken_ = true;  // mid-COPY: no way back to a known state
    failure = std::current_exception();
  } catch (...) {
    broken_ = true;
    failure = std::current_exception();
  }
  if (failure) std::rethrow_exception(failure);
  if (!done.raw()) {
    broken_ = true;
    throw PgError(errc::connection_lost, libpq_error(conn_.get()));
  }
  const char* tuples = PQcmdTuples(done.raw());
  co_return std::strtoull(tuples, nullptr, 10);
}

void Connection::request_cancel() noexcept {
  PGcancel* cancel = PQgetCancel(conn_.get());
  if (cancel == nullptr) return;
  try {
    std::thread([cancel] {
      char err[256];
      PQcancel(cancel, err, sizeof err);
      PQfreeCancel(cancel);
    }).detach();
  } catch (const std::system_error&) {
    PQfreeCancel(cancel);  // no thread: the server finds the closed socket when the statement ends
  }
}

asio::awaitable<bool> Connection::recover(std::chrono::milliseconds budget) {
  if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK) co_return false;
  if (PQpipelineStatus(conn_.get()) != PQ_PIPELINE_OFF) co_return false;
  auto deadline = after(budget);

  if (interrupted_) {
    // Named first: GCC 12 miscompiles a co_await inside an if condition.
    const bool cancel_sent = co_await send_cancel(conn_.get(), deadline);
    if (!cancel_sent) {
      broken_ = true;
      co_return false;
    }

    // Drain what the cancelled query still sends (usually SQLSTATE 57014).
    interrupted_ = false;
    timed_out_ = false;
    bool clean = true;
    try {
      co_await flush(deadline);
      co_await collect_one(deadline);
    } catch (const PgError& e) {
      clean = e.code_value() == errc::query_failed && !broken_;
    }
    if (!clean) {
      broken_ = true;
      co_return false;
    }
  }
  auto tx = transaction_status();
  if (needs_rollback_ || tx == TxStatus::in_transaction || tx == TxStatus::in_error) {
    needs_rollback_ = true;
    bool rolled_back = true;
    try {
      co_await finish_pending_rollback(deadline);
    } catch (const PgError&) {
      rolled_back = false;
    }
    if (!rolled_back) co_return false;
  }
  co_return healthy() && transaction_status() == TxStatus::idle;
}

}  // namespace svc::pg

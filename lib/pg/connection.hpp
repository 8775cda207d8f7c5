#pragma once
// One PostgreSQL connection driven by libpq's non-blocking API: the socket is
// wrapped in an Asio descriptor and coroutines await readiness, so nothing
// here blocks an I/O thread. Host names are resolved by Asio before libpq
// sees them (host_resolution.hpp); the only blocking libpq call, PQcancel,
// runs on a thread of its own in recover(), bounded by its budget.
//
// A connection is used by one coroutine at a time (PipelinedConnection shares
// one among many callers). Every operation has a deadline: the caller's, or
// ConnectOptions::statement_deadline. If the coroutine is cancelled or times
// out mid-query, the connection is marked interrupted and must go through
// recover() before it is used again; the pool discards one that timed out.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "lib/core/hash.hpp"
#include "lib/pg/params.hpp"
#include "lib/pg/result.hpp"

struct pg_conn;

namespace spdlog {
class logger;
}

namespace svc::pg {

struct ConnectOptions {
  std::string conninfo;  // libpq keyword/value string (contains the password: never log it)
  std::chrono::milliseconds connect_timeout{5'000};
  // Server-side statement_timeout, sent as the startup option `options`
  // (which PgBouncer refuses: there, set it on the role); 0 = none sent.
  std::chrono::milliseconds statement_timeout{0};
  // Client-side bound on every operation that does not name its own
  // (DB_STATEMENT_DEADLINE); 0 = none.
  std::chrono::milliseconds statement_deadline{5'000};
  // TCP_USER_TIMEOUT on the socket (DB_TCP_USER_TIMEOUT): unacknowledged data
  // older than this breaks the connection (a peer gone without RST); 0 = off.
  // Keepalives probe an idle connection after 10 s, every 3 s, 3 times.
  std::chrono::milliseconds tcp_user_timeout{10'000};
  bool prepared_statements = true;
  std::string application_name;  // the application's name: how the database lists these connections
};

struct Statement {
  std::string sql;
  Params params;
};

// A map keyed by SQL text, looked up with a string_view (no copy per
// statement). Every statement looks its text up, and hashing all of the
// one-row read's SQL took ~450 of its ~41k instructions (callgrind), so the
// hash samples a long text: its length and five 8-byte words spread over it.
// Texts that differ elsewhere only share a bucket (the map compares keys
// whole); its keys are the application's own statements, bounded in number.
struct SqlHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    constexpr std::size_t kWords = 5;
    if (s.size() < 8 * kWords) return core::murmur64a(s);
    char sample[8 * kWords];
    const std::size_t step = (s.size() - 8) / (kWords - 1);
    for (std::size_t i = 0; i < kWords; ++i) std::memcpy(sample + 8 * i, s.data() + step * i, 8);
    return core::murmur64a({sample, sizeof sample}, s.size());
  }
};

class Connection {
 public:
  enum class TxStatus { idle, active, in_transaction, in_error, unknown };

  // Throws PgError(connect_failed | timeout | cancelled).
  static boost::asio::awaitable<std::unique_ptr<Connection>> connect(boost::asio::any_io_executor executor,
                                                                     const ConnectOptions& options,
                                                                     spdlog::logger& log);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // `timeout` of every operation below: 0 = ConnectOptions::statement_deadline.

  // Extended protocol with bound parameters; a prepared statement cached per
  // connection unless prepared_statements is off. One statement only.
  boost::asio::awaitable<Result> query(std::string_view sql, const Params& params = {},
                                       std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  // Simple protocol, several statements allowed, no parameters (migrations, BEGIN).
  boost::asio::awaitable<void> execute(std::string_view sql,
                                       std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  // All statements in one round trip (libpq pipeline mode). Throws the first
  // statement error; later statements are then not executed.
  boost::asio::awaitable<std::vector<Result>> pipeline(const std::vector<Statement>& statements,
                                                       std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  // COPY ... FROM STDIN: `copy_sql` is the COPY statement, `data` its rows
  // (text format, or binary with copy_binary.hpp and FORMAT binary). Sent in chunks,
  // flushed as the socket takes them. Returns the rows copied. A bad row
  // fails the whole COPY (nothing is stored) with the server's error, and the
  // connection stays usable; interrupted mid-COPY, the connection is broken
  // (discard it: recover() cannot end a COPY).
  boost::asio::awaitable<std::uint64_t> copy_in(std::string_view copy_sql, std::string_view data,
                                                std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  // After an interruption: cancel the running query on the server (PQcancel,
  // on a thread of its own), drain its results, roll back an open transaction,
  // all within `budget`. True if the connection is clean again; false means
  // discard it. A cancel request that is still unanswered at the budget is
  // abandoned: its thread ends whenever the server or TCP gives up.
  boost::asio::awaitable<bool> recover(std::chrono::milliseconds budget);
  // Asks the server to cancel what the connection runs, without waiting for
  // its answer (for a connection about to be closed after an interruption:
  // a backend in a long statement would not notice the close until done).
  // PQcancel runs on a thread of its own, which ends when the server or TCP does.
  void request_cancel() noexcept;

  // Moves the socket's readiness notifications to `executor`'s event loop
  // (no-op if already there). Only while no operation is pending: the pool
  // calls it at checkout, so the handler's own loop drives the connection
  // instead of bouncing two thread hops per round trip through another one.
  void rehome(const boost::asio::any_io_executor& executor);
  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

  bool healthy() const noexcept;   // usable now: socket OK, not broken, not interrupted
  // For an idle connection: reads whatever the server sent meanwhile, without
  // waiting (a terminated backend's FATAL message and EOF). False if that
  // broke the connection.
  bool poll_idle() noexcept;
  bool broken() const noexcept;    // beyond recovery: discard it
  bool interrupted() const noexcept { return interrupted_; }
  // Interrupted by its deadline: the server did not answer in time, so the
  // pool replaces the connection rather than sending a cancel into silence.
  bool timed_out() const noexcept { return timed_out_; }
  TxStatus transaction_status() const noexcept;
  int backend_pid() const noexcept;
  int server_version() const noexcept;  // e.g. 150018
  void mark_broken() noexcept { broken_ = true; }
  // Set by Transaction when dropped without commit: the next use rolls back first.
  void mark_needs_rollback() noexcept { needs_rollback_ = true; }
  bool needs_rollback() const noexcept { return needs_rollback_; }

  std::chrono::steady_clock::time_point created_at() const noexcept { return created_at_; }
  std::chrono::milliseconds statement_deadline() const noexcept { return statement_deadline_; }

  // For PipelinedConnection, which drives libpq itself: the handle, the
  // descriptor (same event loop) and whether statements are prepared.
  pg_conn* native() const noexcept { return conn_.get(); }
  boost::asio::posix::stream_descriptor& socket() noexcept { return socket_; }
  bool uses_prepared_statements() const noexcept { return prepared_statements_; }

 private:
  Connection(pg_conn* conn, boost::asio::any_io_executor executor, const ConnectOptions& options, spdlog::logger& log);

  boost::asio::awaitable<void> ensure_session_format(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<void> flush(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<void> wait_readable(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<Result> collect_one(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<void> finish_pending_rollback(std::chrono::steady_clock::time_point deadline);
  std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) const;
  boost::asio::awaitable<void> start_copy_in(std::string_view copy_sql, std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<void> send_copy_data(std::string_view data, std::chrono::steady_clock::time_point deadline);
  [[noreturn]] void fail_io(const boost::system::error_code& ec, bool timed_out);
  void check_result(const Result& r);
  std::string statement_name(std::string_view sql, bool& needs_prepare);

  struct ConnDeleter {
    void operator()(pg_conn* c) const noexcept;
  };
  std::unique_ptr<pg_conn, ConnDeleter> conn_;
  boost::asio::any_io_executor executor_;  // socket_'s
  boost::asio::posix::stream_descriptor socket_;
  spdlog::logger& log_;
  bool prepared_statements_;
  std::chrono::milliseconds statement_deadline_;
  std::unordered_map<std::string, std::string, SqlHash, std::equal_to<>> prepared_;  // sql → statement name
  std::uint64_t statements_named_ = 0;
  bool interrupted_ = false;
  bool timed_out_ = false;
  bool broken_ = false;
  bool needs_rollback_ = false;
  std::chrono::steady_clock::time_point created_at_;
};

}  // namespace svc::pg

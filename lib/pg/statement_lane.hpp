#pragma once
// One event loop's share of the pool's statement path: the pipelined
// connections that loop owns, the statements waiting for room on them, and
// one timer that enforces every statement's deadline. A lane is used only on
// its own loop (one thread), so it takes no lock; a statement submitted on a
// loop is written, read and answered on that loop, and its caller resumes
// there.
//
// Deadlines: a statement still waiting at its deadline, or in flight behind
// a healthy one, is answered with deadline_exceeded at once (its result is
// dropped when it comes). A connection whose *oldest* statement is past its
// deadline is dead: the server is not answering, so every statement on it
// fails with deadline_exceeded, and the connection is closed and replaced.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "lib/pg/pipelined_connection.hpp"
#include "lib/pg/shared_statement.hpp"

namespace spdlog {
class logger;
}

namespace svc::pg {

struct LaneStats {
  std::size_t connections = 0;  // pipelined connections open
  std::size_t in_flight = 0;    // statements on them (sent or about to be)
  std::size_t waiting = 0;      // statements waiting for room
  std::uint64_t statements_total = 0;
  std::uint64_t failed_total = 0;            // answered with an error of any kind
  std::uint64_t deadline_failures_total = 0;  // answered with deadline_exceeded
  std::uint64_t dead_connections_total = 0;   // connections closed for a missed deadline
  std::uint64_t retried_total = 0;            // reads sent again after another's failure aborted them
};

class StatementLane final : private PipelinedConnection::Owner {
 public:
  // What the lane needs from its pool (thread-safe there).
  class Host {
   public:
    virtual ~Host() = default;
    // A slot for one more pipelined connection; false when the pool is
    // closed or full, or the database is known to be down.
    virtual bool reserve_slot() = 0;
    // Opens the connection for a reserved slot on `executor`; on failure
    // (PgError) the slot is already free again.
    virtual boost::asio::awaitable<std::unique_ptr<Connection>> open(boost::asio::any_io_executor executor) = 0;
    // A pipelined connection closed: its slot is free. `failed`: it broke or
    // missed a deadline (not recycled, yielded or closed by stop).
    virtual void slot_closed(bool failed) = 0;
  };

  struct Settings {
    std::size_t connections = 1;  // DB_PIPELINE_CONNECTIONS: per event loop
    PipelinedConnection::Settings connection;
    std::chrono::milliseconds recycle{30 * 60 * 1000};  // DB_POOL_RECYCLE
  };

  StatementLane(boost::asio::any_io_executor executor, Host& host, Settings settings, spdlog::logger& log);
  ~StatementLane() override;
  StatementLane(const StatementLane&) = delete;
  StatementLane& operator=(const StatementLane&) = delete;

  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

  // On the lane's loop. Whether a statement submitted now takes the
  // pipelined path: a connection is open or opening, or one can be opened now.
  // False means the pool has no slot for one (use an exclusive checkout).
  bool admit();
  // On the lane's loop. `handler` is answered (posted to its executor) with
  // the result or a PgError; `slot` (if connected) cancels the statement.
  void submit(std::string_view sql, const Params& params, std::chrono::steady_clock::time_point deadline,
              bool read_only, SharedStatement::Handler handler, boost::asio::cancellation_slot slot);
  // On the lane's loop: closes one connection that carries no statement, so
  // that its slot goes to an exclusive checkout waiting for one.
  void yield_idle();
  // On the lane's loop: answers everything with pool_closed, closes every
  // connection and waits until `until` at most for the lane's coroutines to end.
  boost::asio::awaitable<void> stop(std::chrono::steady_clock::time_point until);

  LaneStats stats() const noexcept;  // any thread

 private:
  struct CancelHandler;

  void answer(SharedStatement& s) override;
  void released(SharedStatement& s, bool unsent) override;
  void resent(SharedStatement& s) override;

  SharedStatement& allocate();
  void recycle_if_done(SharedStatement& s);
  void route(SharedStatement& s);
  PipelinedConnection* pick() noexcept;
  bool may_grow() const noexcept;
  void grow();
  boost::asio::awaitable<void> connect_one();
  void start_run(PipelinedConnection& conn);
  void connection_ended(PipelinedConnection* conn);
  void dispatch_waiting();
  void fail_waiting(const PgError& why);
  void cancel(SharedStatement& s);
  void arm(std::chrono::steady_clock::time_point deadline);
  void sweep();
  void task_ended();
  void publish() noexcept;

  boost::asio::any_io_executor executor_;
  Host& host_;
  Settings settings_;
  spdlog::logger& log_;
  std::optional<boost::asio::steady_timer> timer_;  // reset at the end of stop(), on this loop
  std::chrono::steady_clock::time_point armed_until_ = std::chrono::steady_clock::time_point::max();
  std::list<std::unique_ptr<PipelinedConnection>> connections_;
  std::deque<SharedStatement*> waiting_;
  std::vector<std::unique_ptr<SharedStatement>> statements_;  // every one ever allocated
  std::vector<SharedStatement*> free_;
  std::size_t waiting_live_ = 0;
  std::size_t in_flight_ = 0;
  bool connecting_ = false;
  bool closing_ = false;
  std::size_t tasks_ = 0;  // spawned coroutines still running
  boost::asio::steady_timer* stop_waiter_ = nullptr;
  boost::asio::cancellation_signal connect_cancel_;
  std::optional<PgError> last_connect_error_;

  // Published for stats() on other threads.
  std::atomic<std::size_t> connections_now_{0}, in_flight_now_{0}, waiting_now_{0};
  std::atomic<std::uint64_t> statements_total_{0}, failed_total_{0}, deadline_total_{0}, dead_total_{0},
      retried_total_{0};
};

}  // namespace svc::pg

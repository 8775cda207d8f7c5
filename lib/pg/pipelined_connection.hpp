#pragma once
// One PostgreSQL connection in libpq pipeline mode that carries the
// statements of many callers at once, as tokio-postgres and Npgsql's
// multiplexing do: statements are queued in order, written together at the
// end of the event loop's turn, and each result is routed back to its caller
// in order. One reader coroutine owns the socket's read side for the
// connection's whole life, so a server that closes or terminates the
// connection is noticed at once, even while idle.
//
// Isolation (docs/database.md): a statement that is not read-only is followed
// by a Sync of its own, so it is its own implicit transaction and its caller
// is answered only once that transaction has ended. Read-only statements may
// share a Sync (batch_reads): a shared unit is one implicit transaction, so a
// failing statement aborts the ones behind it; those never ran and are sent
// again, each with a Sync of its own. Since a read-only statement's result
// does not depend on the other reads around it (READ COMMITTED takes a
// snapshot per statement), every caller gets what it would have got alone.
//
// Never PQcancel: the backend may be running someone else's statement. A
// caller that leaves is answered at once and its result is dropped when it
// arrives; a connection whose oldest statement is past its deadline is
// declared dead by the lane (kill), answering everything on it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "lib/pg/connection.hpp"
#include "lib/pg/shared_statement.hpp"

namespace svc::pg {

class PipelinedConnection {
 public:
  // What the connection tells its lane (same event loop).
  class Owner {
   public:
    virtual ~Owner() = default;
    // `s` has its outcome (result or error); the caller is to be answered.
    virtual void answer(SharedStatement& s) = 0;
    // `s` no longer occupies this connection: answered and fully read, or
    // handed back unsent after the connection died (then s.where is nowhere
    // and it is not answered: the lane sends it elsewhere).
    virtual void released(SharedStatement& s, bool unsent) = 0;
    // `s` is sent again alone: another statement of its shared unit failed.
    virtual void resent(SharedStatement& s) = 0;
  };

  struct Settings {
    std::size_t depth = 64;          // DB_PIPELINE_DEPTH: statements in flight at most
    bool batch_reads = true;         // read-only statements may share a Sync
    std::size_t max_prepared = 256;  // distinct statements prepared; beyond, unnamed
    bool cork = true;                // TCP_CORK while a turn's statements are written
  };

  PipelinedConnection(std::unique_ptr<Connection> conn, Owner& owner, Settings settings);
  ~PipelinedConnection();
  PipelinedConnection(const PipelinedConnection&) = delete;
  PipelinedConnection& operator=(const PipelinedConnection&) = delete;

  // Reads results until the connection ends (error, kill(), close()).
  // Spawned once by the lane, which destroys the connection after it returns.
  boost::asio::awaitable<void> run();

  // Queues `s` (which counts towards in_flight() at once); the queue is
  // written when the event loop finishes its current turn.
  void enqueue(SharedStatement& s);
  // Answers every statement on the connection with `why`, hands back the
  // unsent ones, and ends run(). Idempotent. `orderly`: closed on purpose
  // (recycled, yielded, stopping), not because it failed.
  void kill(const PgError& why, bool orderly = false);
  bool failed() const noexcept { return dead_ && !orderly_; }

  std::size_t in_flight() const noexcept { return in_flight_; }
  bool dead() const noexcept { return dead_; }
  bool accepting(std::size_t depth) const noexcept { return !dead_ && !draining_ && in_flight_ < depth; }
  // Recycling: take no more statements, close once the last is read.
  void drain() noexcept;
  bool draining() const noexcept { return draining_; }
  std::chrono::steady_clock::time_point created_at() const noexcept { return conn_->created_at(); }
  int backend_pid() const noexcept { return conn_->backend_pid(); }
  // Deadline of the oldest statement the server has not finished (max if none).
  std::chrono::steady_clock::time_point oldest_deadline() const noexcept;
  // Every statement on the connection, oldest first (answered ones included).
  void for_each(const std::function<void(SharedStatement&)>& f) const;

 private:
  struct Prepared {
    std::string name;
    bool ready = false;  // the server confirmed the Parse
  };
  // What the next results belong to, in send order.
  struct Expected {
    enum class Kind : std::uint8_t { prepare, execute, sync } kind;
    SharedStatement* statement;    // sync: the unit's isolated statement, or null for a shared unit
    const std::string* sql_key;    // prepare: its cache entry's key
  };

  void schedule_flush();
  void flush_queued();
  void send(SharedStatement& s);
  void send_sync(SharedStatement* isolated);
  void flush_output();
  void read_results();
  void end_command(const Expected& e);
  void end_unit(const Expected& e);
  void release(SharedStatement& s, bool unsent);
  void forget_prepared(const std::string* key);
  void set_cork(bool on) noexcept;
  void finish_kill();

  std::unique_ptr<Connection> conn_;
  Owner& owner_;
  Settings settings_;
  std::deque<SharedStatement*> queued_;  // enqueued, not yet written
  std::deque<Expected> expected_;
  std::unordered_map<std::string, Prepared, SqlHash, std::equal_to<>> prepared_;
  std::uint64_t statements_named_ = 0;
  std::size_t in_flight_ = 0;
  bool flush_scheduled_ = false;
  bool want_write_ = false;  // libpq holds output the socket did not take yet
  bool dead_ = false;
  bool killed_ = false;      // finish_kill() has run
  bool draining_ = false;
  bool orderly_ = false;
  bool reading_ = false;     // inside read_results(): kill() defers its clean-up
  std::optional<PgError> kill_error_;
};

}  // namespace svc::pg

#pragma once
// Named leases in a table, for work that one process of many should do at a
// time (a scheduled job, a poller), with failover: a lease is held until it
// expires unless its holder renews it, and anyone may take an expired one.
// Every operation is one autocommit statement (guard(): one statement in the
// caller's transaction), so it works through PgBouncer in transaction mode,
// where session-level advisory locks do not. Expiry is judged by the
// database's clock alone: the processes' clocks never meet.
//
// The table, created by the application's migrations:
//   CREATE TABLE <table> (name text PRIMARY KEY, holder text NOT NULL,
//     acquired_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL,
//     expires_at timestamptz NOT NULL);

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "lib/pg/connection.hpp"
#include "lib/pg/timestamp.hpp"

namespace svc::pg {

class Pool;

struct LeaseState {
  bool held = false;                       // by us, for `remaining`
  std::string holder;                      // who holds it; "" when nobody was seen
  std::chrono::milliseconds remaining{0};  // until it expires (0: expired, or unknown when holder is "")
};

struct LeaseRow {
  std::string name;
  std::string holder;
  Micros acquired_at;  // when this holder took it (renewals keep it)
  Micros renewed_at;
  std::chrono::milliseconds remaining{0};  // 0: expired, anyone may take it
};

// What this process saw of one lease it asked for (acquire, release).
struct LeaseKnowledge {
  bool held = false;
  std::string holder;                // last seen
  std::uint64_t acquired_total = 0;  // times it became ours
  std::uint64_t lost_total = 0;      // times it was ours and then was not (taken over, expired), release() aside
};

// "<hostname>:<pid>:<6 hex>": names this process among replicas (pods share
// pid 1, hence the host name) and across restarts (hence the random part).
std::string lease_holder_id();

class LeaseTable {
 public:
  // `table`: a plain identifier (lower-case letters, digits, '_'); throws
  // std::invalid_argument otherwise. `holder`: this process (lease_holder_id()).
  LeaseTable(Pool& pool, std::string table, std::string holder);

  const std::string& holder() const noexcept { return holder_; }

  // Takes `name` if nobody holds it or its lease expired, renews it if it is
  // ours: ours then until now + ttl. Otherwise reports who holds it and for
  // how long. Throws PgError (the database's answer is the only truth).
  boost::asio::awaitable<LeaseState> acquire(std::string_view name, std::chrono::milliseconds ttl);
  // Expires those of `names` that are ours now, or `hand_over_in` from now
  // if that is sooner than their ttl, so that others need not wait out the
  // ttl (a clean shutdown). A holder of periodic work passes the time until
  // its next run was due: a successor then cannot run it twice within one
  // period. Returns how many. `deadline`: 0 = DB_STATEMENT_DEADLINE; a
  // release that misses it leaves them to expire.
  boost::asio::awaitable<std::size_t> release(const std::vector<std::string>& names,
                                              std::chrono::milliseconds deadline = std::chrono::milliseconds{0},
                                              std::chrono::milliseconds hand_over_in = std::chrono::milliseconds{0});
  // A statement for a transaction that must commit only while `name` is ours
  // (fencing: a holder paused past its ttl must not write after its
  // successor). It returns one row if the lease is ours and unexpired, and
  // keeps it from changing hands (FOR SHARE) until the transaction ends.
  Statement guard(std::string_view name) const;
  // Every lease whose name starts with `prefix`, by name.
  boost::asio::awaitable<std::vector<LeaseRow>> list(std::string_view prefix = {});

  // Every lease this process asked for, by name (for /metrics).
  std::map<std::string, LeaseKnowledge> known() const;
  // For a caller whose guard found the lease gone: it is not ours any more.
  void forget(std::string_view name);

 private:
  // `released`: given up on purpose, not lost.
  void note(std::string_view name, bool held, std::string_view holder, bool released);

  Pool& pool_;
  std::string table_;
  std::string holder_;
  std::string acquire_sql_, release_sql_, guard_sql_, list_sql_;
  mutable std::mutex mutex_;  // known_ only: read by /metrics on any thread
  std::map<std::string, LeaseKnowledge, std::less<>> known_;
};

}  // namespace svc::pg

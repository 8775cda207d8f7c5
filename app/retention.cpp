#include "app/retention.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

#include "lib/pg/error.hpp"
#include "lib/pg/lease.hpp"
#include "lib/pg/pool.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace pg = svc::pg;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kReleaseDeadline{1'000};

double seconds(milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

// The oldest rows first, through the index each table has on its time
// column, so that a run that finds nothing left costs one index probe. The
// batch size is written into the SQL (a validated integer): as a parameter,
// LIMIT gets a generic plan PostgreSQL misjudges (docs/benchmarks.md).
// offers: by primary key; its links go with it (ON DELETE CASCADE).
std::string offers_batch(std::size_t rows) {
  return "DELETE FROM offers WHERE id = ANY(ARRAY(SELECT id FROM offers"
         " WHERE fetched_at < now() - $1::bigint * interval '1 second' ORDER BY fetched_at LIMIT " +
         std::to_string(rows) + "))";
}
// telemetry_events has no key (migration 0004): its rows by ctid, found
// through the BRIN index on "at" (an append-only table: old rows sit first).
std::string telemetry_batch(std::size_t rows) {
  return "DELETE FROM telemetry_events WHERE ctid = ANY(ARRAY(SELECT ctid FROM telemetry_events"
         " WHERE at < now() - $1::bigint * interval '1 second' LIMIT " +
         std::to_string(rows) + "))";
}

std::string age_text(std::chrono::seconds d) {
  const auto n = d.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

}  // namespace

Retention::Retention(asio::io_context& ioc, Settings settings, pg::Pool& pool, pg::LeaseTable& leases,
                     svc::telemetry::Registry& metrics, spdlog::logger& log)
    : settings_(settings),
      pool_(pool),
      leases_(leases),
      log_(log),
      deleted_(metrics.counter("retention_deleted_rows_total", "Rows deleted by retention, by table.", {"table"})),
      runs_(metrics.counter("retention_runs_total",
                            "Retention runs of this replica by outcome (ok, error; standby: another replica holds "
                            "the lease).",
                            {"outcome"})),
      background_(ioc, "retention", "expired rows are no longer deleted", log),
      timer_(background_.strand()) {
  if (settings_.offers) tables_.push_back({"offers", *settings_.offers, offers_batch(settings_.batch_rows)});
  if (settings_.telemetry)
    tables_.push_back({"telemetry_events", *settings_.telemetry, telemetry_batch(settings_.batch_rows)});
}

asio::awaitable<void> Retention::start() {
  co_await background_.start([this] { return loop(); });
  std::string what;
  for (const auto& t : tables_) what.append(what.empty() ? "" : ", ").append(t.name + " after " + age_text(t.keep));
  log_.info("retention started: {} deleted every {} s in batches of {}, by whichever replica holds the lease", what,
            seconds(settings_.interval), settings_.batch_rows);
}

asio::awaitable<void> Retention::stop() {
  const bool was_running = co_await background_.stop();
  if (!was_running) co_return;
  co_await asio::dispatch(background_.strand(), asio::use_awaitable);  // held_ is the loop's
  if (!held_) co_return;
  try {
    const std::vector<std::string> names{std::string(kLease)};  // named: no temporaries in a co_await (GCC 12)
    co_await leases_.release(names, kReleaseDeadline);
  } catch (const std::exception& e) {
    log_.warn("retention: releasing its lease failed: {}; it expires by itself", e.what());
  }
}

asio::awaitable<bool> Retention::renew() {
  std::optional<pg::LeaseState> lease;
  std::string failure;
  try {
    lease = co_await leases_.acquire(kLease, settings_.interval + settings_.lease_margin);
  } catch (const pg::PgError& e) {
    if (e.code_value() == pg::errc::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
    failure = e.what();
  }
  const bool held = lease && lease->held;
  if (!lease) {
    log_.warn("retention: cannot tell who holds its lease: {}; trying again in {} s", failure, seconds(settings_.interval));
  } else if (held && !held_) {
    log_.info("retention: took the lease; this replica deletes expired rows");
  } else if (!held && lease->holder != holder_) {
    log_.info("retention: {} holds the lease; this replica stands by", lease->holder);
  }
  if (lease) holder_ = lease->holder;
  held_ = held;
  co_return held;
}

asio::awaitable<bool> Retention::run_once(std::uint64_t number) {
  const bool held = co_await renew();
  if (!held) co_return false;
  for (const auto& table : tables_) {
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t total = 0;
    std::size_t batches = 0;
    for (;;) {
      const auto r = co_await pool_.query(table.delete_sql, pg::Params(static_cast<std::int64_t>(table.keep.count())));
      const auto deleted = r.affected();
      total += deleted;
      ++batches;
      deleted_.with({table.name}).inc(static_cast<double>(deleted));
      if (deleted < settings_.batch_rows) break;
      // Still ours? Another replica may have taken over while we deleted.
      const bool still = co_await renew();
      if (!still) co_return false;
    }
    const auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (total > 0 || number == 1)
      log_.info("retention run {}: deleted {} rows of {} older than {} in {} batch(es), {} ms", number, total,
                table.name, age_text(table.keep), batches, ms);
  }
  co_return true;
}

asio::awaitable<void> Retention::loop() {
  for (std::uint64_t number = 1;; ++number) {
    std::string failure;
    bool ran = false;
    try {
      ran = co_await run_once(number);
    } catch (const pg::PgError& e) {
      if (e.code_value() == pg::errc::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
      failure = e.what();
    }
    if (!failure.empty())
      log_.warn("retention run {} failed: {}; next run in {} s", number, failure, seconds(settings_.interval));
    runs_.with({!failure.empty() ? "error" : ran ? "ok" : "standby"}).inc();
    timer_.expires_after(settings_.interval);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace p2p

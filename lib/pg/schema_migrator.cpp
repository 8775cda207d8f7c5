#include "lib/pg/schema_migrator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/backoff.hpp"
#include "lib/pg/error.hpp"

namespace svc::pg {

namespace asio = boost::asio;
using lifecycle::CheckResult;

namespace {
// How often the retry loop looks at the pool's health while the database is down.
constexpr auto kPollInterval = std::chrono::milliseconds(250);
// After a failed attempt (the lock busy, our own connect failing): 250 ms, doubling up to 5 s.
constexpr auto kRetryMax = std::chrono::seconds(5);
}  // namespace

SchemaMigrator::SchemaMigrator(asio::io_context& ioc, Pool& pool, ConnectOptions connect,
                               std::chrono::milliseconds lock_timeout, std::span<const Migration> migrations,
                               std::string lock_name, spdlog::logger& log, lifecycle::Readiness& readiness,
                               std::function<void(std::string)> on_fatal)
    : pool_(pool),
      connect_(std::move(connect)),
      lock_timeout_(lock_timeout),
      migrations_(migrations),
      lock_name_(std::move(lock_name)),
      log_(log),
      readiness_(readiness),
      on_fatal_(std::move(on_fatal)),
      retries_(ioc, "schema migrations", "the schema stays unmigrated and the service not ready", log),
      timer_(retries_.strand()) {}

asio::awaitable<bool> SchemaMigrator::try_apply() {
  std::optional<PgError> failure;
  std::unique_ptr<Connection> conn;
  try {
    const auto executor = co_await asio::this_coro::executor;
    conn = co_await Connection::connect(executor, connect_, log_);
    co_await apply_migrations(*conn, migrations_, lock_name_, lock_timeout_, log_);
  } catch (const PgError& e) {
    failure = e;
  }
  // Stopped mid-statement (a shutdown during a migration): the server is
  // asked to stop it too, or it would run on, holding the lock, after we close.
  if (failure && failure->code_value() == errc::cancelled && conn && conn->interrupted()) conn->request_cancel();
  conn.reset();  // closing it drops the session's lock if anything went wrong
  if (!failure) {
    applied_.store(true);
    co_return true;
  }
  if (failure->code_value() == errc::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
  if (failure->is_unavailable() || failure->is_timeout()) {
    log_.warn("schema migrations not applied yet: {}; retrying in the background", failure->what());
    co_return false;
  }
  throw *failure;  // a migration itself failed: fatal
}

asio::awaitable<void> SchemaMigrator::start() {
  readiness_.add_check("schema", true, [this]() -> asio::awaitable<CheckResult> {
    co_return applied() ? CheckResult::ok() : CheckResult::failed("Database schema not migrated yet");
  });
  // If the pool could not connect, trying now would only wait out another
  // connect timeout: go straight to the background retries.
  bool done = false;
  if (pool_.stats().healthy) done = co_await try_apply();
  if (done) co_return;
  if (!pool_.stats().healthy) log_.warn("schema migrations postponed: database unavailable; retrying in the background");
  co_await retries_.start([this] { return retry_loop(); });
}

asio::awaitable<void> SchemaMigrator::retry_loop() {
  // Stop cancels this loop at whichever await it is in, the lock wait and a
  // migration's statements included (operation_aborted ends it quietly).
  core::Backoff backoff(kPollInterval, kRetryMax);
  auto pause = backoff.next();
  for (;;) {
    timer_.expires_after(pause);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    // The pool is reconnecting: don't pile on (its own backoff paces us).
    if (!pool_.stats().healthy) {
      pause = kPollInterval;
      continue;
    }
    std::optional<std::string> fatal;
    bool done = false;
    try {
      done = co_await try_apply();
    } catch (const boost::system::system_error&) {
      throw;  // cancelled: the loop ends quietly
    } catch (const std::exception& e) {
      fatal = e.what();
    }
    if (fatal) {
      log_.critical("schema migration failed: {}; stopping the service", *fatal);
      on_fatal_("schema migration failed: " + *fatal);
      co_return;
    }
    if (done) {
      log_.info("schema migrations applied in the background");
      co_return;
    }
    pause = backoff.next();
  }
}

asio::awaitable<void> SchemaMigrator::stop() { co_await retries_.stop(); }

}  // namespace svc::pg

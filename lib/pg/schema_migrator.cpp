#include "lib/pg/schema_migrator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "lib/pg/error.hpp"

namespace svc::pg {

namespace asio = boost::asio;
using lifecycle::CheckResult;

namespace {
constexpr auto kRetryInterval = std::chrono::milliseconds(250);
}

SchemaMigrator::SchemaMigrator(asio::io_context& ioc, Pool& pool, std::span<const Migration> migrations,
                               std::string lock_name, spdlog::logger& log, lifecycle::Readiness& readiness,
                               std::function<void(std::string)> on_fatal)
    : pool_(pool),
      migrations_(migrations),
      lock_name_(std::move(lock_name)),
      log_(log),
      readiness_(readiness),
      on_fatal_(std::move(on_fatal)),
      retries_(ioc, "schema migration", "the schema stays unmigrated", log),
      timer_(retries_.strand()) {}

asio::awaitable<bool> SchemaMigrator::try_apply() {
  std::optional<PgError> failure;
  try {
    auto conn = co_await pool_.acquire();
    co_await apply_migrations(*conn, migrations_, lock_name_, log_);
  } catch (const PgError& e) {
    failure = e;
  }
  if (!failure) {
    applied_.store(true);
    co_return true;
  }
  if (failure->is_unavailable() || failure->code_value() == errc::timeout) co_return false;
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
  log_.warn("schema migrations postponed: database unavailable; retrying in the background");
  co_await retries_.start([this] { return retry_loop(); });
}

asio::awaitable<void> SchemaMigrator::retry_loop() {
  for (;;) {
    timer_.expires_after(kRetryInterval);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // stop() cancelled us
    if (!pool_.stats().healthy) continue;  // the pool is reconnecting; don't pile on
    std::optional<std::string> fatal;
    try {
      const bool done = co_await try_apply();
      if (done) {
        log_.info("schema migrations applied after the database came up");
        co_return;
      }
    } catch (const PgError& e) {
      // stop() cancelled us, wherever we waited: the pool, another
      // replica's advisory lock, a migration.
      if (e.code_value() == errc::cancelled) co_return;
      fatal = e.what();
    }
    if (fatal) {
      log_.critical("schema migration failed: {}; stopping the service", *fatal);
      on_fatal_("schema migration failed: " + *fatal);
      co_return;
    }
  }
}

asio::awaitable<void> SchemaMigrator::stop() { co_await retries_.stop(); }

}  // namespace svc::pg

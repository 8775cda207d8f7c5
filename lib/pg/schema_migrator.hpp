#pragma once
// Applies the schema migrations at start-up as a lifecycle component (after
// the pool), on a connection of its own (ConnectOptions: a direct URL when
// the pool goes through PgBouncer in transaction mode, since the migration
// lock is session-level), opened for the attempt and closed after it. If the
// database is down at start-up, or another process holds the migration lock
// beyond the lock timeout, it keeps trying in the background and the
// "schema" readiness check stays failed until the migrations are in, so the
// service never reports ready on an old schema. stop() cancels an attempt in
// flight, the lock wait included, and waits for it within the shutdown's
// bound (lifecycle::BackgroundLoop).

#include <atomic>
#include <chrono>
#include <functional>
#include <span>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "lib/lifecycle/background_loop.hpp"
#include "lib/lifecycle/component.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/migrations.hpp"
#include "lib/pg/pool.hpp"

namespace svc::pg {

class SchemaMigrator final : public lifecycle::Component {
 public:
  // `pool`: only asked whether the database answers, so that a down database
  // is not hammered with connects of our own. `on_fatal` is called (once) if
  // a migration fails later in the background, e.g. to stop the process:
  // serving on a half-migrated schema is worse. `lock_name`: see apply_migrations.
  SchemaMigrator(boost::asio::io_context& ioc, Pool& pool, ConnectOptions connect, std::chrono::milliseconds lock_timeout,
                 std::span<const Migration> migrations, std::string lock_name, spdlog::logger& log,
                 lifecycle::Readiness& readiness, std::function<void(std::string)> on_fatal);

  std::string_view name() const override { return "schema-migrations"; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;
  bool applied() const noexcept { return applied_.load(); }

 private:
  // True when done; false if the database was unavailable or the lock busy
  // (retry later). Throws a migration's own failure, and operation_aborted
  // when cancelled.
  boost::asio::awaitable<bool> try_apply();
  boost::asio::awaitable<void> retry_loop();

  Pool& pool_;
  ConnectOptions connect_;
  std::chrono::milliseconds lock_timeout_;
  std::span<const Migration> migrations_;
  std::string lock_name_;
  spdlog::logger& log_;
  lifecycle::Readiness& readiness_;
  std::function<void(std::string)> on_fatal_;
  std::atomic<bool> applied_{false};
  lifecycle::BackgroundLoop retries_;
  boost::asio::steady_timer timer_;  // retries_' strand only
};

}  // namespace svc::pg

#pragma once
// Applies the schema migrations at start-up as a lifecycle component (after
// the pool). If the database is down at start-up, it keeps trying in the
// background and the "schema" readiness check stays failed until the
// migrations are in, so the service never reports ready on an old schema.
// stop() cancels those retries wherever they wait (another replica's
// advisory lock included, which may last as long as its migration) and
// waits for them within the shutdown's bound (lifecycle::BackgroundLoop).

#include <atomic>
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
  // `on_fatal` is called (once) if a migration fails later in the background,
  // e.g. to stop the process: serving on a half-migrated schema is worse.
  // `lock_name`: see apply_migrations.
  SchemaMigrator(boost::asio::io_context& ioc, Pool& pool, std::span<const Migration> migrations,
                 std::string lock_name, spdlog::logger& log, lifecycle::Readiness& readiness,
                 std::function<void(std::string)> on_fatal);

  std::string_view name() const override { return "schema-migrations"; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;
  bool applied() const noexcept { return applied_.load(); }

 private:
  // True when done; false if the database was unavailable (retry later).
  boost::asio::awaitable<bool> try_apply();
  boost::asio::awaitable<void> retry_loop();

  Pool& pool_;
  std::span<const Migration> migrations_;
  std::string lock_name_;
  spdlog::logger& log_;
  lifecycle::Readiness& readiness_;
  std::function<void(std::string)> on_fatal_;
  std::atomic<bool> applied_{false};
  lifecycle::BackgroundLoop retries_;  // retry_loop() runs on its strand
  boost::asio::steady_timer timer_;     // retries_'s strand only
};

}  // namespace svc::pg

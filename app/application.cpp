#include "app/application.hpp"

#include <iostream>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "app/api_docs.hpp"
#include "app/app_state.hpp"
#include "app/cli.hpp"
#include "app/migrations.hpp"
#include "app/offer_routes.hpp"
#include "app/routes.hpp"
#include "lib/config/help.hpp"
#include "lib/lifecycle/event_loops.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/pool_metrics.hpp"
#include "lib/service/debug_routes.hpp"
#include "lib/service/metrics_route.hpp"
#include "lib/service/probe_routes.hpp"
#include "lib/telemetry/logging.hpp"
#include "lib/telemetry/process_metrics.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace config = svc::config;
using svc::service::Settings;

// Exit codes: 0 clean shutdown, 1 start-up or runtime failure, 2 configuration
// or usage error, 130 second signal during shutdown.
constexpr int kExitFailure = 1;
constexpr int kExitConfigError = 2;

svc::pg::ConnectOptions connect_options(const Settings& settings) {
  svc::pg::ConnectOptions o;
  o.application_name = std::string(kServiceName);
  o.conninfo = settings.database.conninfo();
  o.connect_timeout = settings.pool.connect_timeout;
  o.statement_timeout = settings.pool.statement_timeout;
  o.statement_deadline = settings.pool.statement_deadline;
  o.tcp_user_timeout = settings.pool.tcp_user_timeout;
  o.prepared_statements = settings.pool.prepared_statements;
  return o;
}

AppState::AppState(asio::io_context& ioc, std::vector<asio::any_io_executor> loops, Settings s,
                   AppSettings a, std::shared_ptr<spdlog::logger> logger)
    : settings(std::move(s)),
      app_settings(std::move(a)),
      log(std::move(logger)),
      auth(settings.api_keys),
      lifecycle(ioc.get_executor(), *log, readiness, settings.shutdown),
      events(settings.telemetry.enabled
                 ? std::make_unique<svc::events::Writer>(ioc, connect_options(settings), event_schema(), settings.telemetry,
                                                         settings.shutdown.grace, settings.pool.reconnect_backoff_max,
                                                         metrics, *log, readiness)
                 : nullptr),
      request_telemetry(metrics, events.get(), settings.telemetry.access_log, *log),
      exchange_telemetry(metrics, events.get()),
      pool(ioc, connect_options(settings), settings.pool, *log, readiness, loops),
      migrator(ioc, pool, migrations(), std::string(kMigrationLock), *log, readiness,
               [this](std::string reason) { lifecycle.request_stop(std::move(reason), kExitFailure); }),
      upstream(ioc, settings.upstream, *log),
      store(pool),
      binance(upstream, app_settings.binance_base_url, *log),
      bybit(upstream, app_settings.bybit_base_url, *log),
      bybit_payments(ioc, bybit,
                     {app_settings.bybit_payment_catalogue, app_settings.bybit_payment_catalogue_retry,
                      settings.upstream.total_timeout},
                     exchange_metrics, *log),
      pairs(app_settings.pairs_cache),
      scraper(ioc, app_settings.scrape_targets, app_settings.scrape_interval,
              [this](std::string_view name) -> Exchange& { return exchange(name); }, store, *log),
      server(ioc, std::move(loops), settings.http, settings.shutdown.grace, router, *log) {
  binance.set_telemetry(&exchange_telemetry);
  bybit.set_telemetry(&exchange_telemetry);
  binance.set_metrics(&exchange_metrics);
  bybit.set_metrics(&exchange_metrics);
  if (app_settings.bybit_payment_catalogue.count() > 0)
    bybit.set_payment_names([this] { return bybit_payments.names(); });
  scraper.set_observer([this](const Scraper::TargetOutcome& o) {
    std::string target = o.target.market.asset;
    target.append("/").append(o.target.market.fiat).append(" ").append(o.target.market.trade_type);
    exchange_telemetry.record_scrape({o.target.exchange, target, o.ok ? "ok" : "error", o.duration,
                             static_cast<std::int64_t>(o.stored), static_cast<std::int64_t>(o.skipped)});
  });
}

Exchange& AppState::exchange(std::string_view name) {
  if (name == binance.name()) return binance;
  if (name == bybit.name()) return bybit;
  throw std::invalid_argument("unknown exchange \"" + std::string(name) + "\"");
}

namespace {

// The database is down, overloaded or not answering in time: tell clients
// to come back, not that we broke.
std::optional<svc::http::Response> map_database_errors(const std::exception& e) {
  const auto* pg = dynamic_cast<const svc::pg::PgError*>(&e);
  if (pg == nullptr) return std::nullopt;
  if (pg->is_timeout()) return svc::http::error_response(svc::http::Status::gateway_timeout, "Database timeout");
  if (!pg->is_unavailable()) return std::nullopt;
  auto res = svc::http::error_response(svc::http::Status::service_unavailable, "Database unavailable");
  res.set(boost::beast::http::field::retry_after, "1");
  return res;
}

int serve(Settings settings, AppSettings app_settings, std::shared_ptr<spdlog::logger> log) {
  log->info("p2p-dashboard starting: env={} threads={} database={}", config::to_string(settings.app_env),
            settings.threads, settings.database.sanitized());
  asio::io_context ioc(1);
  svc::lifecycle::EventLoops loops(ioc, settings.threads);
  AppState app(ioc, loops.executors(), std::move(settings), std::move(app_settings), log);
  svc::service::add_probe_routes(app.router, app.readiness);
  svc::service::add_metrics_route(app.router, app.metrics);
  svc::service::add_debug_db_route(app.router, app.auth, app.settings, app.pool, app.migrator);
  svc::telemetry::add_process_metrics(app.metrics);
  svc::telemetry::add_build_info(app.metrics, kServiceName, P2P_VERSION, P2P_GIT_COMMIT);
  svc::pg::add_pool_metrics(app.metrics, app.pool, "main");
  add_routes(app);
  add_offer_routes(app);
  add_docs_routes(app, P2P_VERSION);
  app.server.set_exception_mapper(map_database_errors);
  app.server.set_observer(&app.request_telemetry);
  if (app.events) app.lifecycle.add(*app.events);  // optional; flushes last
  app.lifecycle.add(app.pool);
  app.lifecycle.add(app.migrator);
  app.lifecycle.add(app.upstream);
  // Optional, like the scraper: without it Bybit payment ids are named "Bybit payment N".
  if (app.app_settings.bybit_payment_catalogue.count() > 0) app.lifecycle.add(app.bybit_payments);
  if (!app.app_settings.scrape_targets.empty()) app.lifecycle.add(app.scraper);
  app.lifecycle.add(app.server);  // listens last, stops first

  int exit_code = kExitFailure;
  asio::co_spawn(ioc, app.lifecycle.run(), [&](std::exception_ptr e, int code) {
    exit_code = code;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->critical("lifecycle failed: {}; exiting", ex.what());
    }
    exit_code = kExitFailure;
  });
  loops.run();
  log->flush();
  return exit_code;
}

// `p2p-dashboard migrate [--status]`: one connection, no server.
int migrate(const Settings& settings, spdlog::logger& log, bool status_only) {
  asio::io_context ioc(1);
  auto task = [&]() -> asio::awaitable<int> {
    auto conn = co_await svc::pg::Connection::connect(ioc.get_executor(), connect_options(settings), log);
    if (!status_only) {
      int applied = co_await svc::pg::apply_migrations(*conn, migrations(), kMigrationLock, log);
      std::cout << "applied " << applied << " migration(s)\n";
      co_return 0;
    }
    auto states = co_await svc::pg::migration_status(*conn, migrations());
    for (const auto& m : states)
      std::cout << (m.applied ? "applied  " : "pending  ") << m.version << ' ' << m.name
                << (m.applied ? "  " + m.applied_at : std::string()) << '\n';
    co_return 0;
  };
  auto result = asio::co_spawn(ioc, task(), asio::use_future);
  ioc.run();
  try {
    return result.get();
  } catch (const std::exception& e) {
    std::cerr << "migrate failed: " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace

int run_application(int argc, char** argv) {
  std::string_view program = argc > 0 ? argv[0] : "p2p-dashboard";
  std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  enum class Mode { serve, print_config, migrate, migrate_status } mode = Mode::serve;
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    print_help(std::cout, program);
    return 0;
  }
  if (args.size() == 1 && args[0] == "--print-config") {
    mode = Mode::print_config;
  } else if (args.size() == 1 && args[0] == "migrate") {
    mode = Mode::migrate;
  } else if (args.size() == 2 && args[0] == "migrate" && args[1] == "--status") {
    mode = Mode::migrate_status;
  } else if (!args.empty()) {
    std::cerr << "usage error: unknown argument \"" << args.back() << "\" (see --help)\n";
    return kExitConfigError;
  }

  Settings settings;
  AppSettings app_settings;
  try {
    settings = Settings::from_env(config::process_env());
    app_settings = AppSettings::from_env(config::process_env(), settings.effective);
  } catch (const config::ConfigError& e) {
    std::cerr << "config error: " << e.what() << '\n';
    return kExitConfigError;
  }
  if (mode == Mode::print_config) {
    config::print_config(std::cout, settings.effective);
    return 0;
  }
  settings.upstream.user_agent = std::string(kServiceName) + "/1.0";
  auto log = svc::telemetry::make_logger(std::string(kServiceName), settings.log_level, settings.log_format);
  for (const auto& note : settings.notes) log->info("config: {}", note);
  if (mode == Mode::serve) return serve(std::move(settings), std::move(app_settings), log);
  return migrate(settings, *log, mode == Mode::migrate_status);
}

}  // namespace p2p

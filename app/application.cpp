#include "app/application.hpp"

#include <iostream>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "app/app_state.hpp"
#include "app/routes.hpp"
#include "lib/lifecycle/probe_routes.hpp"
#include "lib/telemetry/logging.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace config = svc::config;

// Exit codes: 0 clean shutdown, 1 start-up failure, 2 configuration error,
// 130 second signal during shutdown.
constexpr int kExitStartupFailed = 1;
constexpr int kExitConfigError = 2;

AppState::AppState(asio::io_context& ioc, config::Settings s, std::shared_ptr<spdlog::logger> logger)
    : settings(std::move(s)),
      log(std::move(logger)),
      server(ioc, settings.http, settings.shutdown.grace, router, *log),
      lifecycle(ioc.get_executor(), *log, readiness, settings.shutdown) {}

namespace {

int serve(config::Settings settings) {
  auto log = svc::telemetry::make_logger("p2p-dashboard", settings.log_level, settings.log_format);
  for (const auto& note : settings.notes) log->info("config: {}", note);
  log->info("p2p-dashboard starting: env={} threads={} database={}", config::to_string(settings.app_env),
            settings.threads, settings.database.sanitized());

  const unsigned threads = settings.threads;
  asio::io_context ioc(static_cast<int>(threads));
  AppState app(ioc, std::move(settings), log);
  svc::lifecycle::add_probe_routes(app.router, app.readiness);
  add_routes(app);
  app.lifecycle.add(app.server);  // listens last, stops first

  int exit_code = kExitStartupFailed;
  asio::co_spawn(ioc, app.lifecycle.run(), [&](std::exception_ptr e, int code) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log->critical("lifecycle failed: {}; exiting", ex.what());
      }
      exit_code = kExitStartupFailed;
    } else {
      exit_code = code;
    }
  });

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  log->flush();
  return exit_code;
}

}  // namespace

int run_application(int argc, char** argv) {
  std::string_view program = argc > 0 ? argv[0] : "p2p-dashboard";
  std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  bool print_config = false;
  for (auto arg : args) {
    if (arg == "--help" || arg == "-h") {
      config::print_help(std::cout, program);
      return 0;
    }
    if (arg == "--print-config") {
      print_config = true;
    } else {
      std::cerr << "usage error: unknown argument \"" << arg << "\" (see --help)\n";
      return kExitConfigError;
    }
  }

  config::Settings settings;
  try {
    settings = config::Settings::from_env(config::process_env());
  } catch (const config::ConfigError& e) {
    std::cerr << "config error: " << e.what() << '\n';
    return kExitConfigError;
  }
  if (print_config) {
    config::print_config(std::cout, settings);
    return 0;
  }
  return serve(std::move(settings));
}

}  // namespace p2p

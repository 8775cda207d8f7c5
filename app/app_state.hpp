#pragma once
// Everything the running service owns. Created in main right after the
// io_context and the event loops, destroyed after their threads have joined;
// handlers get it by reference. There is no other place where state lives.

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include "app/app_settings.hpp"
#include "app/bybit_payment_catalogue.hpp"
#include "app/exchanges/binance.hpp"
#include "app/exchanges/bybit.hpp"
#include "app/exchanges/exchange_metrics.hpp"
#include "app/exchanges/exchange_telemetry.hpp"
#include "app/offer_store.hpp"
#include "app/pairs_cache.hpp"
#include "app/retention.hpp"
#include "app/scraper.hpp"
#include "lib/events/writer.hpp"
#include "lib/http/client.hpp"
#include "lib/http/api_key.hpp"
#include "lib/http/router.hpp"
#include "lib/http/server.hpp"
#include "lib/lifecycle/lifecycle.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/lease.hpp"
#include "lib/pg/pool.hpp"
#include "lib/pg/schema_migrator.hpp"
#include "lib/service/request_telemetry.hpp"
#include "lib/service/settings.hpp"
#include "lib/telemetry/metrics.hpp"

namespace p2p {

struct AppState {
  // `loops`: where the HTTP server runs connections (EventLoops::executors()).
  AppState(boost::asio::io_context& ioc, std::vector<boost::asio::any_io_executor> loops,
           svc::service::Settings settings, AppSettings app_settings, std::shared_ptr<spdlog::logger> logger);

  svc::service::Settings settings;
  AppSettings app_settings;
  std::shared_ptr<spdlog::logger> log;
  svc::lifecycle::Readiness readiness;
  svc::http::Router router;  // filled before the server starts, read-only afterwards
  svc::http::ApiKeyAuth auth;
  svc::lifecycle::Lifecycle lifecycle;
  svc::telemetry::Registry metrics;  // /metrics; families registered before serving
  ExchangeMetrics exchange_metrics{metrics};  // what mapping found unusable in exchange data
  // Components, in start order (stopped in reverse). The event writer first
  // (when TELEMETRY_ENABLED), so that it flushes the events of everything
  // stopped before it; null when disabled.
  std::unique_ptr<svc::events::Writer> events;
  svc::service::RequestTelemetry request_telemetry;  // the server's requests
  ExchangeTelemetry exchange_telemetry;              // exchange calls, scraper rounds
  svc::pg::Pool pool;
  svc::pg::SchemaMigrator migrator;
  svc::pg::LeaseTable leases;  // who of the replicas does which once-only job (scraper targets)
  svc::http::Client upstream;  // the exchanges' HTTP client
  OfferStore store;
  Binance binance;
  Bybit bybit;
  BybitPaymentCatalogue bybit_payments;  // names Bybit's payment ids; refreshes itself once started
  PairsCache pairs;
  Scraper scraper;      // a component only when SCRAPE_TARGETS is set
  Retention retention;  // a component only when a retention is set
  svc::http::Server server;

  Exchange& exchange(std::string_view name);  // "binance" | "bybit"
};

// libpq connection options from the settings (password inside: never log).
svc::pg::ConnectOptions connect_options(const svc::service::Settings& settings);
// The same for schema migrations: MIGRATIONS_DATABASE_URL, else DATABASE_URL.
svc::pg::ConnectOptions migration_connect_options(const svc::service::Settings& settings);

}  // namespace p2p

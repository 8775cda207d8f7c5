#pragma once
// The service's telemetry in one place: the metrics registry's standard
// families (HTTP server, upstream client, scraper, process, build info), the
// event writer (a lifecycle component; absent when TELEMETRY_ENABLED=false),
// and the calls the app makes to record upstream calls and scrape rounds.
// Every record_* and submit call is safe from any thread, never blocks, and
// works (metrics only, no events) when telemetry is disabled.

#include <chrono>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "lib/lifecycle/component.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/connection.hpp"
#include "lib/telemetry/metrics.hpp"
#include "lib/telemetry/telemetry_settings.hpp"
#include "lib/telemetry/writer.hpp"

namespace spdlog {
class logger;
}

namespace svc::pg {
class Pool;
}

namespace svc::telemetry {

// One outbound HTTP call to an exchange.
struct UpstreamCall {
  std::string_view exchange;  // "binance"
  std::string_view target;    // endpoint or market, e.g. "/bapi/c2c/v2/friendly/c2c/adv/search"; no secrets
  std::string_view outcome;   // "ok", "timeout", "http_429", "error", ...
  std::chrono::steady_clock::duration duration{};
  std::string_view request_id = {};  // of the API request it serves, if any
  std::string_view trace_id = {};
};

// One scraper round for one exchange/market.
struct ScrapeRound {
  std::string_view exchange;
  std::string_view target;   // e.g. "USDT/RUB BUY"
  std::string_view outcome;  // "ok", "failed", ...
  std::chrono::steady_clock::duration duration{};
  std::int64_t stored = 0;
  std::int64_t skipped = 0;
  std::string_view trace_id = {};
};

struct HttpServerMetrics {
  explicit HttpServerMetrics(Registry& r);
  Family<Histogram>& duration;       // {http_request_method, http_route, http_response_status_code}
  Gauge& active;                     // http_server_active_requests
  Family<Histogram>& request_size;   // {http_request_method, http_route}
  Family<Histogram>& response_size;  // {http_request_method, http_route}
};

class Telemetry {
 public:
  Telemetry(boost::asio::io_context& ioc, pg::ConnectOptions connect, const TelemetrySettings& settings,
            std::chrono::milliseconds grace, std::chrono::milliseconds backoff_max, Registry& metrics,
            spdlog::logger& log, lifecycle::Readiness& readiness);

  const TelemetrySettings& settings() const { return settings_; }
  Registry& metrics() { return metrics_; }
  HttpServerMetrics& http() { return http_; }
  // The writer as a lifecycle component; nullptr when disabled.
  lifecycle::Component* component() { return writer_ ? &*writer_ : nullptr; }
  Writer* writer() { return writer_ ? &*writer_ : nullptr; }

  // Events: a no-op when disabled.
  void submit(Event event) noexcept;
  // Awaits the write when TELEMETRY_ASYNC_WRITES=false, else like submit().
  boost::asio::awaitable<void> record(Event event);

  // Metrics (always) and an event (when enabled).
  void record_upstream(const UpstreamCall& call) noexcept;
  void record_scrape(const ScrapeRound& round) noexcept;

 private:
  TelemetrySettings settings_;
  Registry& metrics_;
  HttpServerMetrics http_;
  Family<Counter>& upstream_requests_;
  Family<Histogram>& upstream_duration_;
  Family<Counter>& scrape_rounds_;
  Family<Histogram>& scrape_duration_;
  Family<Counter>& offers_stored_;
  Family<Counter>& offers_skipped_;
  std::optional<Writer> writer_;
};

// Scrape-time collectors.
// process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total,
// process_start_time_seconds (procfs, memory-backed: no disk I/O).
void add_process_metrics(Registry& registry);
// build_info{version, git_commit} 1.
void add_build_info(Registry& registry, std::string_view service, std::string_view version,
                    std::string_view git_commit);
// db_client_connections_{usage{state=idle|used},max,pending_requests,timeouts_total,
// wait_time_seconds}{pool_name} from Pool::stats(): OTel db.client.connections.*
// in Prometheus form (the older semconv names: the newer db_client_connection_count
// ends in _count, which Prometheus reserves for histograms and promtool rejects).
void add_pool_metrics(Registry& registry, const pg::Pool& pool, std::string_view pool_name);

}  // namespace svc::telemetry

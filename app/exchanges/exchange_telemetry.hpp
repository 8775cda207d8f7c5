#pragma once
// The exchange calls and the scraper rounds in telemetry: upstream_* and
// scraper_* metrics, and one event per call ("upstream") or round ("scrape")
// in telemetry_events (whose stored/skipped columns are the event's counts).
// Every record_* is safe from any thread, never blocks, and still counts the
// metrics when events are off.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "lib/events/event.hpp"
#include "lib/telemetry/metrics.hpp"

namespace svc::events {
class Writer;
}

namespace p2p {

// The table the app's migrations create for the event writer.
svc::events::EventSchema event_schema();

// One outbound HTTP call to an exchange.
struct UpstreamCall {
  std::string_view exchange;  // "binance"
  std::string_view target;    // endpoint, e.g. "/bapi/c2c/v2/friendly/c2c/adv/search"; no secrets
  std::string_view outcome;   // "ok", "timeout", "http_429", "error", ...
  std::chrono::steady_clock::duration duration{};
  std::string_view request_id = {};  // of the API request it serves, if any
  std::string_view trace_id = {};
};

// One scraper round for one exchange/market.
struct ScrapeRound {
  std::string_view exchange;
  std::string_view target;   // e.g. "USDT/RUB BUY"
  std::string_view outcome;  // "ok", "error"
  std::chrono::steady_clock::duration duration{};
  std::int64_t stored = 0;
  std::int64_t skipped = 0;
  std::string_view trace_id = {};
};

class ExchangeTelemetry {
 public:
  // `events`: null when events are off.
  ExchangeTelemetry(svc::telemetry::Registry& metrics, svc::events::Writer* events);

  void record_upstream(const UpstreamCall& call) noexcept;
  void record_scrape(const ScrapeRound& round) noexcept;

 private:
  svc::events::Writer* events_;
  svc::telemetry::Family<svc::telemetry::Counter>& upstream_requests_;
  svc::telemetry::Family<svc::telemetry::Histogram>& upstream_duration_;
  svc::telemetry::Family<svc::telemetry::Counter>& scrape_rounds_;
  svc::telemetry::Family<svc::telemetry::Histogram>& scrape_duration_;
  svc::telemetry::Family<svc::telemetry::Counter>& offers_stored_;
  svc::telemetry::Family<svc::telemetry::Counter>& offers_skipped_;
};

}  // namespace p2p

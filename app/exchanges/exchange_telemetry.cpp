#include "app/exchanges/exchange_telemetry.hpp"

#include "lib/events/writer.hpp"

namespace p2p {

namespace telemetry = svc::telemetry;
using svc::events::Event;

namespace {

double seconds_of(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The fields an upstream call and a scrape round share, timed from its start.
Event finished_event(std::string_view kind, std::chrono::steady_clock::duration duration, std::string_view name,
                     std::string_view target, std::string_view outcome, std::string_view trace_id) {
  Event e;
  e.kind = kind;
  e.time = std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
  e.duration_seconds = seconds_of(duration);
  e.trace_id = trace_id;
  e.name = name;
  e.target = target;
  e.outcome = outcome;
  return e;
}

}  // namespace

svc::events::EventSchema event_schema() { return {"telemetry_events", {"stored", "skipped"}}; }

ExchangeTelemetry::ExchangeTelemetry(telemetry::Registry& metrics, svc::events::Writer* events)
    : events_(events),
      upstream_requests_(metrics.counter("upstream_requests_total", "Outbound calls to exchanges by outcome.",
                                         {"exchange", "outcome"})),
      upstream_duration_(metrics.histogram("upstream_request_duration_seconds", "Duration of outbound calls to exchanges.",
                                           {"exchange", "outcome"}, telemetry::kDurationBuckets)),
      scrape_rounds_(metrics.counter("scraper_rounds_total", "Scraper rounds by exchange and outcome.",
                                     {"exchange", "outcome"})),
      scrape_duration_(metrics.histogram("scraper_round_duration_seconds", "Duration of scraper rounds.", {"exchange"},
                                         telemetry::kDurationBuckets)),
      offers_stored_(metrics.counter("scraper_offers_stored_total", "Offers stored by the scraper.", {"exchange"})),
      offers_skipped_(metrics.counter("scraper_offers_skipped_total", "Offers the scraper skipped (invalid).",
                                      {"exchange"})) {}

void ExchangeTelemetry::record_upstream(const UpstreamCall& call) noexcept {
  upstream_requests_.with({call.exchange, call.outcome}).inc();
  upstream_duration_.with({call.exchange, call.outcome}).observe(seconds_of(call.duration));
  if (events_ == nullptr) return;
  try {
    Event e = finished_event("upstream", call.duration, call.exchange, call.target, call.outcome, call.trace_id);
    e.request_id = call.request_id;
    events_->submit(std::move(e));
  } catch (...) {  // allocation failure: the event is lost
  }
}

void ExchangeTelemetry::record_scrape(const ScrapeRound& round) noexcept {
  scrape_rounds_.with({round.exchange, round.outcome}).inc();
  scrape_duration_.with({round.exchange}).observe(seconds_of(round.duration));
  if (round.stored > 0) offers_stored_.with({round.exchange}).inc(static_cast<double>(round.stored));
  if (round.skipped > 0) offers_skipped_.with({round.exchange}).inc(static_cast<double>(round.skipped));
  if (events_ == nullptr) return;
  try {
    Event e = finished_event("scrape", round.duration, round.exchange, round.target, round.outcome, round.trace_id);
    e.counts = {round.stored, round.skipped};
    events_->submit(std::move(e));
  } catch (...) {
  }
}

}  // namespace p2p

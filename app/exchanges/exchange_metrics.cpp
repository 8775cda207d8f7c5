#include "app/exchanges/exchange_metrics.hpp"

namespace p2p {

ExchangeMetrics::ExchangeMetrics(svc::telemetry::Registry& registry)
    : fields_invalid(registry.counter(
          "exchange_offer_fields_invalid_total",
          "Reputation fields of stored offers that the exchange sent absent or null (missing), malformed or out of "
          "range, stored as unknown (null; merchant: false).",
          {"exchange", "field", "reason"})),
      payment_names_missing(registry
                                .counter("bybit_payment_names_missing_total",
                                         "Bybit payment ids of stored offers that the payment catalogue does not "
                                         "name, stored as \"Bybit payment N\".")
                                .with({})),
      catalogue_refreshes(registry.counter("bybit_payment_catalogue_refreshes_total",
                                           "Fetches of Bybit's payment catalogue by outcome (ok, error).", {"outcome"})),
      catalogue_entries(
          registry.gauge("bybit_payment_catalogue_entries", "Payment names in the Bybit catalogue in use.").with({})),
      catalogue_last_success(registry
                                 .gauge("bybit_payment_catalogue_last_success_timestamp_seconds",
                                        "When the Bybit payment catalogue in use was fetched (Unix time; 0: none).")
                                 .with({})) {}

void ExchangeMetrics::record(std::string_view exchange, const FieldNotes& notes) {
  for (const InvalidField& f : notes.invalid) fields_invalid.with({exchange, f.field, f.reason}).inc();
  if (notes.unnamed_payments > 0) payment_names_missing.inc(static_cast<double>(notes.unnamed_payments));
}

}  // namespace p2p

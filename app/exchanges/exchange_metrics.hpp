#pragma once
// The exchange side's own metrics, registered by the app on its registry
// (AppState): reputation fields an exchange sent unusable, Bybit payment ids
// without a name, and the refreshes of Bybit's payment catalogue.

#include <string_view>

#include "app/exchanges/exchange.hpp"
#include "lib/telemetry/metrics.hpp"

namespace p2p {

struct ExchangeMetrics {
  explicit ExchangeMetrics(svc::telemetry::Registry& registry);

  // Counts what mapping noted about the offers of `exchange` it kept.
  void record(std::string_view exchange, const FieldNotes& notes);

  svc::telemetry::Family<svc::telemetry::Counter>& fields_invalid;  // exchange, field, reason
  svc::telemetry::Counter& payment_names_missing;
  svc::telemetry::Family<svc::telemetry::Counter>& catalogue_refreshes;  // outcome: ok | error
  svc::telemetry::Gauge& catalogue_entries;
  svc::telemetry::Gauge& catalogue_last_success;  // Unix time of the last good copy, 0 = none yet
};

}  // namespace p2p

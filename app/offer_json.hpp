#pragma once
// The API's JSON for stored offers, written by hand: decimals go out as JSON
// numbers with exactly the digits PostgreSQL stored (a double would not
// round-trip numeric(20,8), and Boost.JSON prints doubles as "3.65E1").

#include <string>
#include <string_view>
#include <vector>

#include "app/offer_store.hpp"

namespace p2p {

// "36.50000000" → "36.5", "100.00000000" → "100".
std::string_view trim_decimal(std::string_view numeric) noexcept;

void append_offer(std::string& out, const StoredOffer& offer);
// [ {...}, ... ]
std::string offers_json(const OfferRows& offers);
// {"items":[...],"next_cursor":"..."|null}
std::string history_json(const HistoryPage& page);
// {"id":..,"name":..} list
std::string payment_methods_json(const std::vector<PaymentMethod>& methods);
// The stats object, `filters` echoed back.
std::string stats_json(const MarketStats& stats, const OfferFilter& filter, std::string_view window);
// [{"exchange":..,"fiat":..,"asset":..,"trade_type":..,"first_seen":..,"last_seen":..}]
std::string markets_json(const std::vector<MarketInfo>& markets);
// {"markets":[{market, "fetched_at", "count", prices, "available", "offers":[...]}]}
std::string snapshot_json(const Snapshot& snapshot);
// {market, "window", "bucket", "bucket_seconds", "points":[{"time", "count", prices, "available"}]}
std::string series_json(const std::vector<SeriesPoint>& points, const OfferFilter& market, std::string_view window,
                        std::string_view bucket, std::chrono::seconds bucket_width);

}  // namespace p2p

#pragma once
// Offers in PostgreSQL: a fetched batch stored in one transaction, and the
// read side of the API (one offer, history pages, payment methods, stats).
// SQL lives here and nowhere else.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "app/exchanges/offer.hpp"
#include "lib/pg/result.hpp"
#include "lib/pg/timestamp.hpp"

namespace svc::pg {
class Pool;
}

namespace p2p {

using svc::pg::Micros;

// An offer row as the API returns it: views into the result that holds it
// (OfferRows), valid while that lives; nothing is copied on the way from the
// database to the JSON. Decimals stay the database's text; offer_json.cpp
// writes them out.
struct StoredOffer {
  std::string_view id;  // uuid
  std::string_view exchange;
  std::string_view external_id;
  Micros fetched_at;
  std::string_view fiat;
  std::string_view asset;
  std::string_view trade_type;
  std::string_view price;  // numeric(20,8) text, e.g. "36.50000000"
  std::string_view available;
  std::string_view min_limit;
  std::string_view max_limit;
  std::string_view advertiser;
  std::string_view payment_methods_json;  // a JSON array of names, sorted, from the database
  // Reputation as the exchange reported it; nullopt when unknown.
  std::optional<std::string_view> advertiser_orders_30d;       // integer text
  std::optional<std::string_view> advertiser_completion_rate;  // numeric(9,8) text, 0..1
  bool merchant = false;
};

// Offer rows in the order the query returned them.
class OfferRows {
 public:
  OfferRows() = default;
  explicit OfferRows(svc::pg::Result result) noexcept;
  // Only these rows of `result`, in this order.
  OfferRows(svc::pg::Result result, std::vector<std::size_t> rows) noexcept;
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  StoredOffer operator[](std::size_t row) const;
  // Keeps the first n rows only.
  void truncate(std::size_t n) noexcept;
  // Keeps the rows for which `keep` is true, in order.
  void keep_if(const std::function<bool(const StoredOffer&)>& keep);

 private:
  svc::pg::Result result_;
  std::size_t count_ = 0;
  bool filtered_ = false;
  std::vector<std::size_t> kept_;  // result rows in order, when filtered_
};

// Position in the history (newest first): the last row of a page.
struct HistoryCursor {
  Micros fetched_at;
  std::string id;
};
std::string encode_cursor(const HistoryCursor& cursor);
std::optional<HistoryCursor> decode_cursor(std::string_view text);

// Who is behind an offer. An offer whose exchange did not report the
// advertiser's rate (or orders) does not pass a minimum on it.
struct ReputationFilter {
  std::optional<std::string> min_completion_rate;  // a canonical decimal, 0..1, at most 8 places
  std::optional<std::int64_t> min_orders;          // 0..2147483647
  bool merchant_only = false;

  bool any() const noexcept { return min_completion_rate || min_orders || merchant_only; }
  // The same test the SQL makes, on a row in memory.
  bool matches(const StoredOffer& offer) const;
};

struct OfferFilter {
  std::optional<std::string> exchange;
  std::optional<std::string> fiat;
  std::optional<std::string> asset;
  std::optional<std::string> trade_type;
  ReputationFilter reputation;
  std::optional<std::string> payment_method;  // a payment method's exact name
};

struct HistoryQuery {
  OfferFilter filter;
  std::optional<Micros> since;  // fetched_at >= since
  std::optional<Micros> until;  // fetched_at < until
  int limit = 50;
  std::optional<HistoryCursor> after;
};

struct HistoryPage {
  OfferRows items;
  std::optional<HistoryCursor> next;  // set when more rows follow
};

struct PaymentMethod {
  std::int32_t id;
  std::string name;
};

struct MarketStats {
  std::int64_t count = 0;
  // Decimal text; unset when count is 0. best/worst follow the trade type
  // (BUY: the lowest price is best; SELL: the highest); unset without one.
  std::optional<std::string> min_price, max_price, median_price, best_price, worst_price, spread;
  std::optional<Micros> first_seen, last_seen;
};

// One market: the four columns that name it.
struct MarketKey {
  std::string exchange, fiat, asset, trade_type;
};

// A market that has data: its first and newest fetch.
struct MarketInfo {
  MarketKey market;
  Micros first_seen, last_seen;
};

// Prices of a set of offers (decimal text; unset when there is none). best
// and worst follow the trade type: BUY, the client buys, the lowest price is
// best; SELL, the highest.
struct PriceSummary {
  std::int64_t count = 0;
  std::optional<std::string> best, median, worst, available;
};

// The newest fetch of each market (its offers that pass the filter, best first).
struct MarketSnapshot {
  MarketKey market;
  Micros fetched_at;
  PriceSummary summary;
  std::size_t first = 0, end = 0;  // its offers: rows [first, end) of Snapshot::offers
};
struct Snapshot {
  OfferRows offers;
  std::vector<MarketSnapshot> markets;
};

struct SeriesQuery {
  OfferFilter filter;  // exchange, fiat, asset and trade_type set
  std::chrono::seconds bucket;
  std::int64_t points;  // buckets, the newest the one holding now
};
struct SeriesPoint {
  Micros time;  // the bucket's start
  PriceSummary summary;
};

class OfferStore {
 public:
  explicit OfferStore(svc::pg::Pool& pool);

  // Stores the batch (payment methods upserted by name, offers linked) in one
  // transaction and returns the rows as stored, in batch order. Throws
  // svc::pg::PgError; nothing is written then.
  boost::asio::awaitable<OfferRows> save(const std::vector<Offer>& offers);
  // No row when there is no such offer.
  boost::asio::awaitable<OfferRows> find(std::string_view id);
  boost::asio::awaitable<HistoryPage> history(const HistoryQuery& query);
  boost::asio::awaitable<std::vector<PaymentMethod>> payment_methods();
  boost::asio::awaitable<MarketStats> stats(const OfferFilter& filter, std::chrono::seconds window);
  // The markets that have offers, in (exchange, fiat, asset, trade_type) order;
  // the filter's market fields narrow them (the rest is ignored).
  boost::asio::awaitable<std::vector<MarketInfo>> markets(const OfferFilter& filter);
  // The newest fetch of each market the filter's market fields choose; its
  // other fields choose which of that fetch's offers count.
  boost::asio::awaitable<Snapshot> snapshot(const OfferFilter& filter);
  // One point per bucket, oldest first, every bucket present. In a bucket,
  // each advertisement counts once, as last fetched in it.
  boost::asio::awaitable<std::vector<SeriesPoint>> series(const SeriesQuery& query);

 private:
  svc::pg::Pool& pool_;
  std::string insert_sql_;  // built once, like find_sql_: both return offer_columns
  std::string find_sql_;    // built once: the hot path of the read API
};

// 8-4-4-4-12 hexadecimal digits, either case.
bool is_uuid(std::string_view text) noexcept;

}  // namespace p2p

#pragma once
// Offers in PostgreSQL: a fetched batch stored in one transaction, and the
// read side of the API (one offer, history pages, payment methods, stats).
// SQL lives here and nowhere else.

#include <chrono>
#include <cstdint>
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
};

// Offer rows in the order the query returned them.
class OfferRows {
 public:
  OfferRows() = default;
  explicit OfferRows(svc::pg::Result result) noexcept;
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  StoredOffer operator[](std::size_t row) const;
  // Keeps the first n rows only.
  void truncate(std::size_t n) noexcept;

 private:
  svc::pg::Result result_;
  std::size_t count_ = 0;
};

// Position in the history (newest first): the last row of a page.
struct HistoryCursor {
  Micros fetched_at;
  std::string id;
};
std::string encode_cursor(const HistoryCursor& cursor);
std::optional<HistoryCursor> decode_cursor(std::string_view text);

struct OfferFilter {
  std::optional<std::string> exchange;
  std::optional<std::string> fiat;
  std::optional<std::string> asset;
  std::optional<std::string> trade_type;
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

 private:
  svc::pg::Pool& pool_;
  std::string find_sql_;  // built once: the hot path of the read API
};

// 8-4-4-4-12 hexadecimal digits, either case.
bool is_uuid(std::string_view text) noexcept;

}  // namespace p2p

#pragma once
// The interface every exchange adapter implements: fetch one page of offers
// for a market. Listing the markets an exchange trades is Binance's alone
// (Binance::pairs): Bybit has no public API for it that we use.

#include <chrono>
#include <compare>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "app/exchanges/offer.hpp"

namespace p2p {

// Per-call context propagated upstream and into log lines.
struct CallContext {
  std::string request_id;   // "" outside a request (scraper: a round id)
  std::string traceparent;  // W3C header value to send upstream; "" = none
};

// A reputation field of a kept offer that the exchange sent absent (or
// null), malformed or out of range: the offer keeps it unset (merchant:
// false). Counted in exchange_offer_fields_invalid_total.
struct InvalidField {
  std::string_view field;   // "advertiser_orders_30d" | "advertiser_completion_rate" | "merchant"
  std::string_view reason;  // "missing" | "malformed" | "out_of_range"
};

// What mapping noticed in the offers it kept, for the metrics.
struct FieldNotes {
  std::vector<InvalidField> invalid;
  std::size_t unnamed_payments = 0;  // Bybit payment ids no catalogue names ("Bybit payment N")
  // Texts of kept offers that held NUL characters, removed (PostgreSQL text
  // cannot hold one): "advertiser", "payment_method", once per offer each.
  std::vector<std::string_view> cleaned;
};

struct FetchResult {
  std::vector<Offer> offers;  // mapped, in exchange order
  std::size_t skipped = 0;    // offers that could not be mapped (each logged)
  FieldNotes notes;           // about `offers` only: a skipped offer's fields are not counted
};

// A market Binance trades (Binance::pairs); ordered by asset, then fiat.
struct Pair {
  std::string asset;
  std::string fiat;
  auto operator<=>(const Pair&) const = default;
};

// The exchange could not be asked or answered nonsense. `timed_out`
// separates 504 from 502 for API clients; `status` is the exchange's HTTP
// status when it answered with one (429: it rate-limits us, asking to wait
// `retry_after` when it says how long).
class UpstreamError : public std::runtime_error {
 public:
  UpstreamError(std::string reason, bool timed_out, unsigned status = 0,
                std::optional<std::chrono::seconds> retry_after = std::nullopt)
      : std::runtime_error(std::move(reason)), timed_out_(timed_out), status_(status), retry_after_(retry_after) {}
  bool timed_out() const noexcept { return timed_out_; }
  unsigned status() const noexcept { return status_; }
  bool rate_limited() const noexcept { return status_ == 429; }
  std::optional<std::chrono::seconds> retry_after() const noexcept { return retry_after_; }

 private:
  bool timed_out_;
  unsigned status_;
  std::optional<std::chrono::seconds> retry_after_;
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual std::string_view name() const = 0;          // "binance"
  virtual std::string_view display_name() const = 0;  // "Binance" (client error messages)
  // Throws UpstreamError; offers that cannot be mapped are skipped and counted.
  virtual boost::asio::awaitable<FetchResult> fetch_offers(const Market& market, const CallContext& ctx) = 0;
};

}  // namespace p2p

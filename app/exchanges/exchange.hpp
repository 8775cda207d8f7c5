#pragma once
// The interface every exchange adapter implements: fetch one page of offers
// for a market, and list the markets it trades.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "app/exchanges/offer.hpp"

namespace p2p {

// Per-call context propagated upstream and into log lines.
struct CallContext {
  std::string request_id;   // "" outside a request (scraper: a round id)
  std::string traceparent;  // W3C header value to send upstream; "" = none
};

struct FetchResult {
  std::vector<Offer> offers;  // mapped, in exchange order
  std::size_t skipped = 0;    // offers that could not be mapped (each logged)
};

struct Pair {
  std::string asset;
  std::string fiat;
};

// The exchange could not be asked or answered nonsense. `timed_out`
// separates 504 from 502 for API clients.
class UpstreamError : public std::runtime_error {
 public:
  UpstreamError(std::string reason, bool timed_out) : std::runtime_error(std::move(reason)), timed_out_(timed_out) {}
  bool timed_out() const noexcept { return timed_out_; }

 private:
  bool timed_out_;
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual std::string_view name() const = 0;          // "binance"
  virtual std::string_view display_name() const = 0;  // "Binance" (client error messages)
  // Throws UpstreamError; offers that cannot be mapped are skipped and counted.
  virtual boost::asio::awaitable<FetchResult> fetch_offers(const Market& market, const CallContext& ctx) = 0;
  // Every (asset, fiat) pair the exchange trades, sorted; throws UpstreamError.
  virtual boost::asio::awaitable<std::vector<Pair>> pairs(const CallContext& ctx) = 0;
};

}  // namespace p2p

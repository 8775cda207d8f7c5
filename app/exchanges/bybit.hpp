#pragma once
// Bybit P2P through its public web API (fiat/otc). The request body and the
// response mapping are in exchange_mapping.hpp.

#include "app/exchanges/exchange_http.hpp"

namespace p2p {

class Bybit final : public HttpExchange {
 public:
  using HttpExchange::HttpExchange;  // (svc::http::Client&, std::string base_url, spdlog::logger&)

  std::string_view name() const override { return "bybit"; }
  std::string_view display_name() const override { return "Bybit"; }
  // POST {base}/fiat/otc/item/online; throws UpstreamError, and
  // std::invalid_argument when market.trade_type is neither BUY nor SELL.
  boost::asio::awaitable<FetchResult> fetch_offers(const Market& market, const CallContext& ctx) override;
};

}  // namespace p2p

#pragma once
// Binance P2P through its public "friendly" web API (bapi/c2c). The request
// bodies and the response mapping are in exchange_mapping.hpp.

#include <vector>

#include "app/exchanges/exchange_http.hpp"

namespace p2p {

class Binance final : public HttpExchange {
 public:
  using HttpExchange::HttpExchange;  // (svc::http::Client&, std::string base_url, spdlog::logger&)

  std::string_view name() const override { return "binance"; }
  std::string_view display_name() const override { return "Binance"; }
  // POST {base}/bapi/c2c/v2/friendly/c2c/adv/search; throws UpstreamError.
  boost::asio::awaitable<FetchResult> fetch_offers(const Market& market, const CallContext& ctx) override;
  // Every (asset, fiat) pair Binance P2P trades, sorted: the P2P assets of
  // {base}/bapi/c2c/v2/friendly/c2c/portal/config times the fiats of
  // {base}/bapi/c2c/v1/friendly/c2c/trade-rule/fiat-list (asked in sequence).
  // Throws UpstreamError.
  boost::asio::awaitable<std::vector<Pair>> pairs(const CallContext& ctx);
};

}  // namespace p2p

#pragma once
// Bybit P2P through its public web API (fiat/otc). The request body and the
// response mapping are in exchange_mapping.hpp.

#include <functional>
#include <memory>

#include "app/exchanges/exchange_http.hpp"
#include "app/exchanges/exchange_mapping.hpp"

namespace p2p {

class Bybit final : public HttpExchange {
 public:
  using HttpExchange::HttpExchange;  // (svc::http::Client&, std::string base_url, spdlog::logger&)
  // Where fetch_offers takes payment names from (the app's cached catalogue).
  // It may wait, bounded; nullptr or no source: every id is "Bybit payment N".
  using PaymentNamesSource = std::function<boost::asio::awaitable<std::shared_ptr<const PaymentNames>>()>;
  void set_payment_names(PaymentNamesSource source) { names_ = std::move(source); }

  std::string_view name() const override { return "bybit"; }
  std::string_view display_name() const override { return "Bybit"; }
  // POST {base}/fiat/otc/item/online; throws UpstreamError, and
  // std::invalid_argument when market.trade_type is neither BUY nor SELL.
  boost::asio::awaitable<FetchResult> fetch_offers(const Market& market, const CallContext& ctx) override;
  // POST {base}/fiat/otc/configuration/queryAllPaymentList: Bybit's payment
  // catalogue (map_bybit_payment_names). Throws UpstreamError.
  boost::asio::awaitable<PaymentNames> payment_names(const CallContext& ctx);

 private:
  PaymentNamesSource names_;
};

}  // namespace p2p

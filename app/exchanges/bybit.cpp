#include "app/exchanges/bybit.hpp"

namespace p2p {

boost::asio::awaitable<FetchResult> Bybit::fetch_offers(const Market& market, const CallContext& ctx) {
  std::string request = bybit_search_body(market);  // named: see Binance::fetch_offers
  std::string body = co_await post("/fiat/otc/item/online", std::move(request), ctx);
  std::shared_ptr<const PaymentNames> names;
  if (names_) names = co_await names_();
  const PaymentNames none;
  co_return counted(map_bybit_offers(body, market, ctx.request_id, log_, names ? *names : none));
}

boost::asio::awaitable<PaymentNames> Bybit::payment_names(const CallContext& ctx) {
  std::string request = "{}";
  std::string body = co_await post("/fiat/otc/configuration/queryAllPaymentList", std::move(request), ctx);
  co_return map_bybit_payment_names(body);
}

}  // namespace p2p

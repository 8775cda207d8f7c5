#include "app/exchanges/bybit.hpp"

#include "app/exchanges/exchange_mapping.hpp"

namespace p2p {

boost::asio::awaitable<FetchResult> Bybit::fetch_offers(const Market& market, const CallContext& ctx) {
  std::string request = bybit_search_body(market);  // named: see Binance::fetch_offers
  std::string body = co_await post("/fiat/otc/item/online", std::move(request), ctx);
  co_return map_bybit_offers(body, market, ctx.request_id, log_);
}

}  // namespace p2p

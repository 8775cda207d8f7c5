#include "app/exchanges/binance.hpp"

#include "app/exchanges/exchange_mapping.hpp"

namespace p2p {

namespace {
constexpr std::string_view search_path = "/bapi/c2c/v2/friendly/c2c/adv/search";
constexpr std::string_view portal_config_path = "/bapi/c2c/v2/friendly/c2c/portal/config";
constexpr std::string_view fiat_list_path = "/bapi/c2c/v1/friendly/c2c/trade-rule/fiat-list";
}  // namespace

boost::asio::awaitable<FetchResult> Binance::fetch_offers(const Market& market, const CallContext& ctx) {
  // Arguments as named values: GCC 12 destroys a temporary in a co_await
  // expression twice when the awaited coroutine throws.
  std::string request = binance_search_body(market);
  std::string body = co_await post(search_path, std::move(request), ctx);
  co_return counted(map_binance_offers(body, market, ctx.request_id, log_));
}

boost::asio::awaitable<std::vector<Pair>> Binance::pairs(const CallContext& ctx) {
  std::string request = "{}";
  std::string portal_config = co_await post(portal_config_path, request, ctx);
  std::string fiat_list = co_await post(fiat_list_path, request, ctx);
  co_return map_binance_pairs(portal_config, fiat_list);
}

}  // namespace p2p

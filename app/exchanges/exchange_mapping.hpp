#pragma once
// The pure half of each adapter: request bodies, and responses mapped to
// offers (and Binance's pairs), without I/O. Body-level failures throw
// UpstreamError; offers that cannot be mapped are skipped, counted in
// FetchResult::skipped and logged at warn with `request_id`. Fiat, asset and
// trade type of each offer come from the requested `market` (an exchange's
// own side field is the advertiser's). Built without the HTTP client
// (p2p_exchange_mapping), so unit tests link it alone.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/exchanges/exchange.hpp"

namespace spdlog {
class logger;
}

namespace p2p {

// ---- Binance (binance_mapping.cpp)

// {"fiat","asset","tradeType","page","rows","payTypes":[],"publisherType":null,"countries":[],"proMerchantAds":false}
std::string binance_search_body(const Market& market);

// {"code":"000000","success":true,"data":[{"adv":{...},"advertiser":{"nickName",
// "monthOrderCount","monthFinishRate" (a fraction),"userType" ("merchant"|"user")}}]} to offers.
// Throws UpstreamError for invalid JSON, code != "000000" or success == false,
// data not an array.
FetchResult map_binance_offers(std::string_view body, const Market& market, std::string_view request_id,
                               spdlog::logger& log);

// The portal config response (data.areas[area == "P2P"].tradeSides[].assets[].asset)
// and the fiat list response (data[].currencyCode) to every (asset, fiat)
// combination, sorted by asset then fiat, without duplicates. Entries that
// are not strings are ignored. Throws UpstreamError as above, and when the
// config has no P2P area.
std::vector<Pair> map_binance_pairs(std::string_view portal_config_body, std::string_view fiat_list_body);

// ---- Bybit (bybit_mapping.cpp)

// {"userId":"","tokenId":asset,"currencyId":fiat,"payment":[],"side":"1" (BUY) | "0" (SELL),
//  "size":"<rows>","page":"<page>","amount":"","authMaker":false,"canTrade":false}.
// Throws std::invalid_argument when market.trade_type is neither BUY nor SELL.
std::string bybit_search_body(const Market& market);

// Bybit's payment catalogue: payment id ("14") -> name ("Bank Transfer").
using PaymentNames = std::map<std::string, std::string, std::less<>>;

// {"ret_code":0,"ret_msg":"SUCCESS","result":{"count":N,"items":[...]}} to
// offers. Payment methods: each paymentTerms[] entry's paymentConfig.paymentName,
// else its paymentType through `names`; when that yields none, the
// `payments` ids through `names`. An id `names` lacks is "Bybit payment N",
// counted in notes.unnamed_payments. Reputation: recentOrderNum,
// recentExecuteRate (a percentage), merchant from authTag (VA, GA, BA) or
// userType "ORG". Throws UpstreamError for invalid JSON, ret_code != 0,
// result not an object, result.items not an array (null is an empty page
// when result.count is 0).
FetchResult map_bybit_offers(std::string_view body, const Market& market, std::string_view request_id,
                             spdlog::logger& log, const PaymentNames& names);

// The catalogue response {"ret_code":0,"result":{"paymentConfigVo":[{"paymentType":"14",
// "paymentName":"Bank Transfer",...}],...}} to names, ids and names trimmed;
// entries without both are ignored, the first of a repeated id wins.
// Throws UpstreamError as above, when paymentConfigVo is not an array, and
// when it names nothing (an empty catalogue would rename every offer).
PaymentNames map_bybit_payment_names(std::string_view body);

}  // namespace p2p

#include "app/exchanges/exchange_mapping.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "app/exchanges/exchange_json.hpp"

namespace p2p {

namespace json = boost::json;

namespace {

constexpr std::string_view success_code = "000000";

// The `data` member of a successful response; UpstreamError otherwise.
json::value binance_data(std::string_view body) {
  json::value parsed = parse_body(body);
  json::object& object = body_object(parsed);
  std::string code = text_field(object, "code").value_or("(none)");
  const json::value* success = object.if_contains("success");
  if (code != success_code || (success && success->is_bool() && !success->get_bool()))
    throw_exchange_error(code, text_field(object, "message").value_or("(no message)"));
  json::value* data = object.if_contains("data");
  return data ? std::move(*data) : json::value();
}

// advertiser.userType: "merchant" (Binance's verified merchants) or "user".
FieldRead<bool> merchant(const json::value* user_type) {
  if (!user_type || user_type->is_null()) return {std::nullopt, "missing"};
  const json::string* text = user_type->if_string();
  const auto is = [&](std::string_view word) {
    return text && text->size() == word.size() &&
           std::equal(text->begin(), text->end(), word.begin(), [](char a, char b) { return (a | 0x20) == b; });
  };
  if (is("merchant")) return {true, {}};
  if (is("user")) return {false, {}};
  return {std::nullopt, "malformed"};
}

void fill_offer(const json::object& item, Offer& offer, FieldNotes& notes) {
  const json::object& adv = require_object(item, "adv");
  offer.external_id = require_id(adv, "advNo");
  offer.price = require_decimal(adv, "price");
  offer.available = require_decimal(adv, "surplusAmount");
  offer.min_limit = require_decimal(adv, "minSingleTransAmount");
  offer.max_limit = require_decimal(adv, "maxSingleTransAmount");
  if (const json::array* methods = array_field(adv, "tradeMethods")) {
    for (const json::value& method : *methods) {
      if (!method.is_object()) continue;
      std::string name = text_field(method.get_object(), "tradeMethodName").value_or("");
      if (trim_blanks(name).empty()) name = text_field(method.get_object(), "identifier").value_or("");
      add_payment_method(offer.payment_methods, name);
    }
  }
  const json::object* advertiser = object_field(item, "advertiser");
  offer.advertiser = name_or_unknown(advertiser ? text_field(*advertiser, "nickName") : std::nullopt);
  offer.advertiser_orders_30d =
      noted(read_order_count(member(advertiser, "monthOrderCount")), "advertiser_orders_30d", notes);
  // A fraction: 0.981 is 98.1%.
  offer.advertiser_completion_rate = noted(read_completion_rate(member(advertiser, "monthFinishRate"), false),
                                           "advertiser_completion_rate", notes);
  offer.merchant = noted(merchant(member(advertiser, "userType")), "merchant", notes).value_or(false);
}

// Trimmed, non-empty texts of `key` in each object of `items` (when an array).
void collect(const json::array* items, std::string_view key, std::vector<std::string>& out) {
  if (!items) return;
  for (const json::value& item : *items) {
    if (!item.is_object()) continue;
    auto text = text_field(item.get_object(), key);
    std::string_view trimmed = text ? trim_blanks(*text) : std::string_view{};
    if (!trimmed.empty()) out.emplace_back(trimmed);
  }
}

std::vector<std::string> p2p_assets(std::string_view portal_config_body) {
  json::value data = binance_data(portal_config_body);
  if (!data.is_object()) throw_unexpected("data is not an object");
  const json::array* areas = array_field(data.get_object(), "areas");
  if (!areas) throw_unexpected("data.areas is not an array");
  for (const json::value& area : *areas) {
    if (!area.is_object() || text_field(area.get_object(), "area") != "P2P") continue;
    std::vector<std::string> assets;
    if (const json::array* sides = array_field(area.get_object(), "tradeSides"))
      for (const json::value& side : *sides)
        if (side.is_object()) collect(array_field(side.get_object(), "assets"), "asset", assets);
    return assets;
  }
  throw_unexpected("no P2P area in data.areas");
}

std::vector<std::string> fiats(std::string_view fiat_list_body) {
  json::value data = binance_data(fiat_list_body);
  if (!data.is_array()) throw_unexpected("data is not an array");
  std::vector<std::string> codes;
  collect(&data.get_array(), "currencyCode", codes);
  return codes;
}

}  // namespace

std::string binance_search_body(const Market& market) {
  json::object body{{"fiat", market.fiat},
                    {"asset", market.asset},
                    {"tradeType", market.trade_type},
                    {"page", market.page},
                    {"rows", market.rows},
                    {"payTypes", json::array()},
                    {"publisherType", nullptr},
                    {"countries", json::array()},
                    {"proMerchantAds", false}};
  return json::serialize(body);
}

FetchResult map_binance_offers(std::string_view body, const Market& market, std::string_view request_id,
                               spdlog::logger& log) {
  json::value data = binance_data(body);
  if (!data.is_array()) throw_unexpected("data is not an array");
  return map_offers(data.get_array(), "binance", market, request_id, log, fill_offer);
}

std::vector<Pair> map_binance_pairs(std::string_view portal_config_body, std::string_view fiat_list_body) {
  std::vector<std::string> assets = p2p_assets(portal_config_body);
  std::vector<std::string> fiat_codes = fiats(fiat_list_body);
  std::vector<Pair> pairs;
  pairs.reserve(assets.size() * fiat_codes.size());
  for (const std::string& asset : assets)
    for (const std::string& fiat : fiat_codes) pairs.push_back(Pair{asset, fiat});
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

}  // namespace p2p

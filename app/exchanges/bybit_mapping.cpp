#include "app/exchanges/exchange_mapping.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "app/exchanges/exchange_json.hpp"

namespace p2p {

namespace json = boost::json;

namespace {

// A payment id through the catalogue; an id it does not name is kept as
// "Bybit payment N" (and counted) so that the offer still shows it.
void add_payment_id(std::vector<std::string>& methods, const json::value& id, const PaymentNames& names,
                    FieldNotes& notes) {
  auto text = text_value(id);
  std::string_view trimmed = text ? trim_blanks(*text) : std::string_view{};
  if (trimmed.empty()) return;
  if (auto known = names.find(trimmed); known != names.end()) {
    add_payment_method(methods, known->second);
    return;
  }
  const std::size_t before = methods.size();
  add_payment_method(methods, std::string("Bybit payment ").append(trimmed));
  notes.unnamed_payments += methods.size() - before;
}

std::vector<std::string> payment_methods(const json::object& item, const PaymentNames& names, FieldNotes& notes) {
  std::vector<std::string> methods;
  if (const json::array* terms = array_field(item, "paymentTerms")) {
    for (const json::value& term : *terms) {
      if (!term.is_object()) continue;
      const json::object* config = object_field(term.get_object(), "paymentConfig");
      auto name = config ? text_field(*config, "paymentName") : std::nullopt;
      if (name && !trim_blanks(*name).empty())
        add_payment_method(methods, *name);
      else if (const json::value* type = term.get_object().if_contains("paymentType"))
        add_payment_id(methods, *type, names, notes);
    }
  }
  const json::array* ids = array_field(item, "payments");
  if (methods.empty() && ids)
    for (const json::value& id : *ids) add_payment_id(methods, id, names, notes);
  return methods;
}

// Bybit's advertiser badges (authTag) and institutional accounts (userType
// "ORG") are what Binance calls merchants. Either is enough; a member of the
// wrong kind, or a userType other than ORG and PERSONAL, is malformed unless
// the other says merchant.
constexpr std::array<std::string_view, 3> advertiser_tags{"VA", "GA", "BA"};

FieldRead<bool> merchant(const json::object& item) {
  const json::value* user_type = member(&item, "userType");
  const json::value* tags = member(&item, "authTag");
  const bool no_type = !user_type || user_type->is_null();
  const bool no_tags = !tags || tags->is_null();
  if (no_type && no_tags) return {std::nullopt, "missing"};
  bool merchant = false;
  bool malformed = false;
  if (!no_type) {
    const json::string* type = user_type->if_string();
    merchant = type && *type == "ORG";
    malformed = !merchant && !(type && *type == "PERSONAL");
  }
  if (!no_tags) {
    if (const json::array* list = tags->if_array()) {
      for (const json::value& tag : *list) {
        const json::string* text = tag.if_string();
        malformed = malformed || !text;
        merchant = merchant || (text && std::find(advertiser_tags.begin(), advertiser_tags.end(),
                                                  std::string_view(*text)) != advertiser_tags.end());
      }
    } else {
      malformed = true;
    }
  }
  if (merchant) return {true, {}};
  if (malformed) return {std::nullopt, "malformed"};
  return {false, {}};
}

void fill_offer(const json::object& item, Offer& offer, const PaymentNames& names, FieldNotes& notes) {
  offer.external_id = require_id(item, "id");
  offer.price = require_decimal(item, "price");
  offer.available = require_decimal(item, "lastQuantity");
  offer.min_limit = require_decimal(item, "minAmount");
  offer.max_limit = require_decimal(item, "maxAmount");
  offer.payment_methods = payment_methods(item, names, notes);
  offer.advertiser = name_or_unknown(text_field(item, "nickName"));
  offer.advertiser_orders_30d =
      noted(read_order_count(member(&item, "recentOrderNum")), "advertiser_orders_30d", notes);
  // A percentage: 98 is 98%.
  offer.advertiser_completion_rate = noted(read_completion_rate(member(&item, "recentExecuteRate"), true),
                                           "advertiser_completion_rate", notes);
  offer.merchant = noted(merchant(item), "merchant", notes).value_or(false);
}

// The `result` object of a successful response; UpstreamError otherwise.
const json::object& bybit_result(json::value& parsed) {
  const json::object& object = body_object(parsed);
  std::string code = text_field(object, "ret_code").value_or("(none)");
  if (code != "0") throw_exchange_error(code, text_field(object, "ret_msg").value_or("(no message)"));
  const json::object* result = object_field(object, "result");
  if (!result) throw_unexpected("result is not an object");
  return *result;
}

}  // namespace

std::string bybit_search_body(const Market& market) {
  if (market.trade_type != "BUY" && market.trade_type != "SELL") {
    std::string message = "trade type must be BUY or SELL, not ";
    message.append(market.trade_type);
    throw std::invalid_argument(message);
  }
  json::object body{{"userId", ""},
                    {"tokenId", market.asset},
                    {"currencyId", market.fiat},
                    {"payment", json::array()},
                    {"side", market.trade_type == "BUY" ? "1" : "0"},
                    {"size", std::to_string(market.rows)},
                    {"page", std::to_string(market.page)},
                    {"amount", ""},
                    {"authMaker", false},
                    {"canTrade", false}};
  return json::serialize(body);
}

FetchResult map_bybit_offers(std::string_view body, const Market& market, std::string_view request_id,
                             spdlog::logger& log, const PaymentNames& names) {
  json::value parsed = parse_body(body);
  const json::object& result = bybit_result(parsed);
  if (const json::array* items = array_field(result, "items")) {
    return map_offers(*items, "bybit", market, request_id, log,
                      [&names](const json::object& item, Offer& offer, FieldNotes& notes) {
                        fill_offer(item, offer, names, notes);
                      });
  }
  const json::value* items = result.if_contains("items");
  if ((!items || items->is_null()) && text_field(result, "count") == "0") return {};
  throw_unexpected("result.items is not an array");
}

PaymentNames map_bybit_payment_names(std::string_view body) {
  json::value parsed = parse_body(body);
  const json::array* configs = array_field(bybit_result(parsed), "paymentConfigVo");
  if (!configs) throw_unexpected("result.paymentConfigVo is not an array");
  PaymentNames names;
  for (const json::value& config : *configs) {
    if (!config.is_object()) continue;
    auto id = text_field(config.get_object(), "paymentType");
    auto name = text_field(config.get_object(), "paymentName");
    std::string_view trimmed_id = id ? trim_blanks(*id) : std::string_view{};
    std::string_view trimmed_name = name ? trim_blanks(*name) : std::string_view{};
    if (!trimmed_id.empty() && !trimmed_name.empty()) names.emplace(trimmed_id, trimmed_name);
  }
  if (names.empty()) throw_unexpected("result.paymentConfigVo names no payment method");
  return names;
}

}  // namespace p2p

#include "app/exchanges/exchange_mapping.hpp"

#include <array>
#include <stdexcept>
#include <utility>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "app/exchanges/exchange_json.hpp"

namespace p2p {

namespace json = boost::json;

namespace {

// Payment ids seen on VES markets; paymentTerms names them when Bybit sends it.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> payment_names{{
    {"14", "Bank Transfer"},
    {"377", "Pago Movil"},
    {"1", "Banesco"},
    {"75", "Mercantil"},
}};

void add_payment_id(std::vector<std::string>& methods, const json::value& id) {
  auto text = text_value(id);
  std::string_view trimmed = text ? trim_blanks(*text) : std::string_view{};
  if (!trimmed.empty()) add_payment_method(methods, bybit_payment_name(trimmed));
}

std::vector<std::string> payment_methods(const json::object& item) {
  std::vector<std::string> methods;
  if (const json::array* terms = array_field(item, "paymentTerms")) {
    for (const json::value& term : *terms) {
      if (!term.is_object()) continue;
      const json::object* config = object_field(term.get_object(), "paymentConfig");
      auto name = config ? text_field(*config, "paymentName") : std::nullopt;
      if (name && !trim_blanks(*name).empty())
        add_payment_method(methods, *name);
      else if (const json::value* type = term.get_object().if_contains("paymentType"))
        add_payment_id(methods, *type);
    }
  }
  const json::array* ids = array_field(item, "payments");
  if (methods.empty() && ids)
    for (const json::value& id : *ids) add_payment_id(methods, id);
  return methods;
}

void fill_offer(const json::object& item, Offer& offer) {
  offer.external_id = require_id(item, "id");
  offer.price = require_decimal(item, "price");
  offer.available = require_decimal(item, "lastQuantity");
  offer.min_limit = require_decimal(item, "minAmount");
  offer.max_limit = require_decimal(item, "maxAmount");
  offer.payment_methods = payment_methods(item);
  offer.advertiser = name_or_unknown(text_field(item, "nickName"));
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
                             spdlog::logger& log) {
  json::value parsed = parse_body(body);
  const json::object& object = body_object(parsed);
  std::string code = text_field(object, "ret_code").value_or("(none)");
  if (code != "0") throw_exchange_error(code, text_field(object, "ret_msg").value_or("(no message)"));
  const json::object* result = object_field(object, "result");
  if (!result) throw_unexpected("result is not an object");
  if (const json::array* items = array_field(*result, "items"))
    return map_offers(*items, "bybit", market, request_id, log, fill_offer);
  const json::value* items = result->if_contains("items");
  if ((!items || items->is_null()) && text_field(*result, "count") == "0") return {};
  throw_unexpected("result.items is not an array");
}

std::string bybit_payment_name(std::string_view id) {
  for (const auto& [known, name] : payment_names)
    if (known == id) return std::string(name);
  std::string name = "Bybit payment ";
  name.append(id);
  return name;
}

}  // namespace p2p

#include "app/exchanges/exchange_json.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <spdlog/logger.h>

namespace p2p {

namespace json = boost::json;

json::value parse_body(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) {
    std::string reason = "invalid JSON from exchange: ";
    reason.append(ec.message());
    throw UpstreamError(std::move(reason), false);
  }
  return value;
}

json::object& body_object(json::value& body) {
  if (!body.is_object()) throw_unexpected("the body is not a JSON object");
  return body.get_object();
}

void throw_unexpected(std::string_view what) {
  std::string reason = "unexpected response from exchange: ";
  reason.append(what);
  throw UpstreamError(std::move(reason), false);
}

void throw_exchange_error(std::string_view code, std::string_view message) {
  std::string reason = "exchange error ";
  reason.append(code).append(": ").append(message);
  throw UpstreamError(std::move(reason), false);
}

std::optional<std::string> text_value(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return std::string(value.get_string());
    case json::kind::int64:
      return std::to_string(value.get_int64());
    case json::kind::uint64:
      return std::to_string(value.get_uint64());
    default:
      return std::nullopt;
  }
}

std::optional<std::string> text_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value ? text_value(*value) : std::nullopt;
}

const json::array* array_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value ? value->if_array() : nullptr;
}

const json::object* object_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value ? value->if_object() : nullptr;
}

ParsedDecimal decimal_value(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return parse_decimal(value.get_string());
    case json::kind::int64:
    case json::kind::uint64:
      return parse_decimal(*text_value(value));
    case json::kind::double_:
      return decimal_from_double(value.get_double());
    case json::kind::null:
      return {std::nullopt, "null"};
    default:
      return {std::nullopt, "not a number"};
  }
}

std::string_view trim_blanks(std::string_view text) {
  constexpr std::string_view blanks = " \t\r\n";
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) + 1 - first);
}

std::string name_or_unknown(const std::optional<std::string>& name) {
  std::string_view trimmed = name ? trim_blanks(*name) : std::string_view{};
  return trimmed.empty() ? std::string("Unknown") : std::string(trimmed);
}

void add_payment_method(std::vector<std::string>& methods, std::string_view name) {
  name = trim_blanks(name);
  if (!name.empty() && std::find(methods.begin(), methods.end(), name) == methods.end()) methods.emplace_back(name);
}

namespace {

[[noreturn]] void skip(std::string_view key, std::string_view reason) {
  std::string message(key);
  message.append(": ").append(reason);
  throw SkippedOffer(message);
}

const json::value& require_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (!value) skip(key, "missing");
  return *value;
}

}  // namespace

const json::object& require_object(const json::object& object, std::string_view key) {
  const json::value& value = require_field(object, key);
  if (!value.is_object()) skip(key, "not an object");
  return value.get_object();
}

std::string require_id(const json::object& object, std::string_view key) {
  auto text = text_value(require_field(object, key));
  if (!text) skip(key, "not a string or an integer");
  std::string_view id = trim_blanks(*text);
  if (id.empty()) skip(key, "empty");
  return std::string(id);
}

std::string require_decimal(const json::object& object, std::string_view key) {
  ParsedDecimal parsed = decimal_value(require_field(object, key));
  if (!parsed.value) skip(key, parsed.error);
  return std::move(*parsed.value);
}

FetchResult map_offers(const json::array& items, std::string_view exchange, const Market& market,
                       std::string_view request_id, spdlog::logger& log, const FillOffer& fill) {
  FetchResult result;
  result.offers.reserve(items.size());
  for (const json::value& item : items) {
    Offer offer;
    offer.exchange = exchange;
    offer.fiat = market.fiat;
    offer.asset = market.asset;
    offer.trade_type = market.trade_type;
    try {
      if (!item.is_object()) throw SkippedOffer("offer: not an object");
      fill(item.get_object(), offer);
      result.offers.push_back(std::move(offer));
    } catch (const SkippedOffer& e) {
      ++result.skipped;
      std::string known_id;
      if (!offer.external_id.empty()) known_id.append(" external_id=").append(offer.external_id);
      log.warn("{} offer skipped: {} (request_id={}{})", exchange, e.what(), request_id.empty() ? "-" : request_id,
               known_id);
    }
  }
  return result;
}

}  // namespace p2p

#include "app/exchanges/exchange_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

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

const json::value* member(const json::object* object, std::string_view key) {
  return object ? object->if_contains(key) : nullptr;
}

namespace {

constexpr std::int64_t max_order_count = std::numeric_limits<std::int32_t>::max();

template <typename T>
FieldRead<T> problem(std::string_view reason) {
  return {std::nullopt, reason};
}

FieldRead<std::int64_t> order_count_in_range(std::int64_t count) {
  if (count < 0 || count > max_order_count) return problem<std::int64_t>("out_of_range");
  return {count, {}};
}

FieldRead<std::int64_t> order_count_from_text(std::string_view text) {
  text = trim_blanks(text);
  const bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return problem<std::int64_t>("malformed");
  if (negative) return problem<std::int64_t>("out_of_range");
  std::int64_t count = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc{}) return problem<std::int64_t>("out_of_range");  // more digits than int64 holds
  return order_count_in_range(count);
}

}  // namespace

FieldRead<std::int64_t> read_order_count(const json::value* value) {
  if (!value || value->is_null()) return problem<std::int64_t>("missing");
  switch (value->kind()) {
    case json::kind::int64:
      return order_count_in_range(value->get_int64());
    case json::kind::uint64:
      return problem<std::int64_t>("out_of_range");  // above INT64_MAX
    case json::kind::double_: {
      const double d = value->get_double();
      if (!std::isfinite(d) || d != std::floor(d)) return problem<std::int64_t>("malformed");
      if (d < 0 || d > static_cast<double>(max_order_count)) return problem<std::int64_t>("out_of_range");
      return {static_cast<std::int64_t>(d), {}};
    }
    case json::kind::string:
      return order_count_from_text(value->get_string());
    default:
      return problem<std::int64_t>("malformed");
  }
}

FieldRead<std::string> read_completion_rate(const json::value* value, bool percent) {
  if (!value || value->is_null()) return problem<std::string>("missing");
  ParsedDecimal parsed = decimal_value(*value);
  if (!parsed.value) return problem<std::string>(parsed.error == "negative" ? "out_of_range" : "malformed");
  // Canonical: "I" or "I.F" with I without leading zeros.
  const std::string& text = *parsed.value;
  const auto dot = text.find('.');
  const std::string_view integer = std::string_view(text).substr(0, dot);
  const std::string_view fraction = dot == std::string::npos ? std::string_view{} : std::string_view(text).substr(dot + 1);
  if (!percent) {
    if (integer != "0" && !(integer == "1" && fraction.empty())) return problem<std::string>("out_of_range");
    return {text, {}};
  }
  if (integer == "100" && fraction.empty()) return {std::string("1"), {}};
  if (integer.size() > 2) return problem<std::string>("out_of_range");
  // Divided by 100: the decimal point moves two digits left ("98" -> "0.98",
  // "7.5" -> "0.075"), then parse_decimal canonicalises and rounds.
  std::string shifted = "0.";
  shifted.append(2 - integer.size(), '0').append(integer).append(fraction);
  return {parse_decimal(shifted).value, {}};
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
    FieldNotes notes;
    try {
      if (!item.is_object()) throw SkippedOffer("offer: not an object");
      fill(item.get_object(), offer, notes);
      for (const InvalidField& f : notes.invalid) {
        if (f.reason != "missing")
          log.debug("{} offer {}: {} is {}; stored as unknown (request_id={})", exchange, offer.external_id, f.field,
                    f.reason, request_id.empty() ? "-" : request_id);
      }
      result.notes.invalid.insert(result.notes.invalid.end(), notes.invalid.begin(), notes.invalid.end());
      result.notes.unnamed_payments += notes.unnamed_payments;
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

#pragma once
// Reading exchange responses, shared by the adapters: the body as JSON,
// tolerant field readers (exchanges send numbers as strings and ids as
// numbers), the errors that fail a whole call (UpstreamError), and the loop
// that maps offers one by one, skipping (and logging) those it cannot map.
// Pure: no I/O, so the mapping tests link without the HTTP client.

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "app/exchanges/decimal.hpp"
#include "app/exchanges/exchange.hpp"

namespace spdlog {
class logger;
}

namespace p2p {

// Throws UpstreamError("invalid JSON from exchange: <parser message>").
boost::json::value parse_body(std::string_view body);
// The body as an object; throws UpstreamError when it is another kind.
boost::json::object& body_object(boost::json::value& body);
// UpstreamError("unexpected response from exchange: <what>").
[[noreturn]] void throw_unexpected(std::string_view what);
// UpstreamError("exchange error <code>: <message>").
[[noreturn]] void throw_exchange_error(std::string_view code, std::string_view message);

// A string verbatim, or an integer in decimal; nullopt for anything else
// (null, a double, a bool, an object, an array).
std::optional<std::string> text_value(const boost::json::value& value);
// text_value of object[key]; nullopt when the key is missing too.
std::optional<std::string> text_field(const boost::json::object& object, std::string_view key);
// object[key] when it is an array (an object); nullptr when missing or another kind.
const boost::json::array* array_field(const boost::json::object& object, std::string_view key);
const boost::json::object* object_field(const boost::json::object& object, std::string_view key);
// A decimal string or a JSON number (integer, or double such as 1.2e6), canonical (see decimal.hpp).
ParsedDecimal decimal_value(const boost::json::value& value);

std::string_view trim_blanks(std::string_view text);  // ASCII blanks
// A trimmed name, or "Unknown" when it is missing or blank.
std::string name_or_unknown(const std::optional<std::string>& name);
// Appends the trimmed name unless it is blank or already there (exchange order kept).
void add_payment_method(std::vector<std::string>& methods, std::string_view name);

// ---- Reputation fields: optional, never a reason to skip an offer.

// One optional field as read: the value, or why there is none
// ("missing" for absent or null, "malformed", "out_of_range").
template <typename T>
struct FieldRead {
  std::optional<T> value;
  std::string_view problem;  // "" when value is set
};

// object[key]; nullptr when `object` is nullptr or has no such member.
const boost::json::value* member(const boost::json::object* object, std::string_view key);
// A count of orders: a JSON integer, an integral JSON number or a digit
// string; 0 to 2147483647 (PostgreSQL's integer), else out_of_range.
FieldRead<std::int64_t> read_order_count(const boost::json::value* value);
// A completion rate, a decimal (string or number) as decimal_value reads
// it: a fraction in 0..1, or with `percent` a percentage in 0..100 divided
// by 100. Canonical text of the fraction ("0.98", "1", "0"), rounded to 8
// places like every decimal here.
FieldRead<std::string> read_completion_rate(const boost::json::value* value, bool percent);
// The value, or nullopt with `field` and the problem added to notes.invalid.
template <typename T>
std::optional<T> noted(FieldRead<T> read, std::string_view field, FieldNotes& notes) {
  if (!read.value) notes.invalid.push_back({field, read.problem});
  return std::move(read.value);
}

// Thrown while mapping one offer: the offer is skipped, the call goes on.
class SkippedOffer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Readers for one offer's required fields; they throw SkippedOffer with a
// reason that names the field ("price: not a decimal: \"abc\"").
const boost::json::object& require_object(const boost::json::object& object, std::string_view key);
std::string require_id(const boost::json::object& object, std::string_view key);  // trimmed, not empty
std::string require_decimal(const boost::json::object& object, std::string_view key);

// Maps `items` in order. Each Offer starts with `exchange` and the requested
// market (fiat, asset, trade type); `fill` completes it from an item, notes
// what it could not use in `notes`, and throws SkippedOffer when it cannot
// map the offer at all. A skipped item (or one that is not an object) is
// counted and logged at warn with the reason, the request id and the
// external id when `fill` had set it; a kept item's notes join the result's
// (its unusable fields are logged at debug).
using FillOffer = std::function<void(const boost::json::object& item, Offer& offer, FieldNotes& notes)>;
FetchResult map_offers(const boost::json::array& items, std::string_view exchange, const Market& market,
                       std::string_view request_id, spdlog::logger& log, const FillOffer& fill);

}  // namespace p2p

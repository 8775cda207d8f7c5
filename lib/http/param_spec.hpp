#pragma once
// What one request parameter may be: its name, where it travels, its type
// and constraints, its default and a description. One object serves twice:
// QueryParams validates a request against it (query.hpp) and the route's
// documentation lists it (RouteDoc, openapi.hpp), so the two cannot drift.
// Specs are built once, when routes are registered.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace svc::http {

enum class ParamIn { query, path };

enum class ParamType {
  integer,  // int64 in [minimum, maximum]
  number,   // a plain decimal ("0.95"; no exponent), canonical text out
  boolean,  // true/false, 1/0, yes/no, on/off, t/f, y/n (pydantic's set)
  string,   // one of `choices`, or checked by `valid`, at most `max_length`
  flag,     // present or not, any value or none (`?verbose`)
};

struct ParamSpec {
  std::string name;
  ParamIn in = ParamIn::query;
  ParamType type = ParamType::string;
  std::string description;
  bool required = false;         // path parameters always are
  bool empty_is_absent = false;  // "?fiat=" means "not given" (filters: any)
  std::optional<std::int64_t> minimum, maximum;  // integer, number
  std::optional<int> max_places;                 // number: digits after '.'
  std::optional<std::size_t> max_length;         // string
  std::vector<std::string> choices;              // string: exactly one of these
  // string: the check, with the ECMA-262 pattern and/or format it implements
  // (what clients see). Fails as string_pattern_mismatch, or as
  // `invalid_type` / `invalid_message` when those are set (uuid_parsing, ...).
  std::function<bool(std::string_view)> valid;
  std::string pattern;
  std::string format;
  std::string invalid_type, invalid_message;
  boost::json::value fallback;  // the default when absent (null: none)
  boost::json::value example;   // a valid value; example_value() derives one when null

  static ParamSpec integer(std::string name, std::int64_t minimum, std::int64_t maximum);
  static ParamSpec number(std::string name, std::int64_t minimum, std::int64_t maximum, int max_places);
  static ParamSpec boolean(std::string name);
  static ParamSpec one_of(std::string name, std::vector<std::string> choices);
  // A string `valid` accepts; `pattern` is the same rule as a regex, for clients.
  static ParamSpec matching(std::string name, std::string pattern, std::function<bool(std::string_view)> valid);
  static ParamSpec text(std::string name, std::size_t max_length);
  static ParamSpec flag(std::string name);

  ParamSpec& describe(std::string text);
  ParamSpec& with_default(boost::json::value value);
  ParamSpec& with_example(boost::json::value value);
  ParamSpec& empty_means_any();
  ParamSpec& in_path();  // and required
  ParamSpec& must_be_given();
  // A named format ("uuid", "date-time") checked by `valid`, failing with
  // pydantic's error `type` and `message`.
  ParamSpec& formatted(std::string format, std::function<bool(std::string_view)> check, std::string type,
                       std::string message);

  // JSON Schema of the value (OpenAPI 3.1: JSON Schema 2020-12).
  boost::json::object schema() const;
  // `example`, else the default, the first choice, the minimum, true; null
  // when nothing can be derived (Router::add refuses such a spec).
  boost::json::value example_value() const;
};

}  // namespace svc::http

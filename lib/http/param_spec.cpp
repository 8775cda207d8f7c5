#include "lib/http/param_spec.hpp"

#include <boost/json/array.hpp>

namespace svc::http {

namespace json = boost::json;

namespace {
ParamSpec named(std::string name, ParamType type) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  return p;
}
}  // namespace

ParamSpec ParamSpec::integer(std::string name, std::int64_t minimum, std::int64_t maximum) {
  auto p = named(std::move(name), ParamType::integer);
  p.minimum = minimum;
  p.maximum = maximum;
  return p;
}

ParamSpec ParamSpec::number(std::string name, std::int64_t minimum, std::int64_t maximum, int max_places) {
  auto p = named(std::move(name), ParamType::number);
  p.minimum = minimum;
  p.maximum = maximum;
  p.max_places = max_places;
  return p;
}

ParamSpec ParamSpec::boolean(std::string name) { return named(std::move(name), ParamType::boolean); }

ParamSpec ParamSpec::one_of(std::string name, std::vector<std::string> choices) {
  auto p = named(std::move(name), ParamType::string);
  p.choices = std::move(choices);
  return p;
}

ParamSpec ParamSpec::matching(std::string name, std::string pattern, std::function<bool(std::string_view)> valid) {
  auto p = named(std::move(name), ParamType::string);
  p.pattern = std::move(pattern);
  p.valid = std::move(valid);
  return p;
}

ParamSpec ParamSpec::text(std::string name, std::size_t max_length) {
  auto p = named(std::move(name), ParamType::string);
  p.max_length = max_length;
  return p;
}

ParamSpec ParamSpec::flag(std::string name) { return named(std::move(name), ParamType::flag); }

ParamSpec& ParamSpec::describe(std::string text) {
  description = std::move(text);
  return *this;
}

ParamSpec& ParamSpec::with_default(json::value value) {
  fallback = std::move(value);
  return *this;
}

ParamSpec& ParamSpec::with_example(json::value value) {
  example = std::move(value);
  return *this;
}

ParamSpec& ParamSpec::empty_means_any() {
  empty_is_absent = true;
  return *this;
}

ParamSpec& ParamSpec::in_path() {
  in = ParamIn::path;
  required = true;
  return *this;
}

ParamSpec& ParamSpec::must_be_given() {
  required = true;
  return *this;
}

ParamSpec& ParamSpec::formatted(std::string fmt, std::function<bool(std::string_view)> check, std::string type,
                                std::string message) {
  format = std::move(fmt);
  valid = std::move(check);
  invalid_type = std::move(type);
  invalid_message = std::move(message);
  return *this;
}

json::object ParamSpec::schema() const {
  json::object s;
  switch (type) {
    case ParamType::integer: s["type"] = "integer"; break;
    case ParamType::number: s["type"] = "number"; break;
    case ParamType::boolean: s["type"] = "boolean"; break;
    case ParamType::string:
    case ParamType::flag: s["type"] = "string"; break;
  }
  if (minimum) s["minimum"] = *minimum;
  if (maximum) s["maximum"] = *maximum;
  if (max_length) s["maxLength"] = *max_length;
  if (!choices.empty()) {
    json::array values;
    for (const auto& c : choices) values.emplace_back(c);
    s["enum"] = std::move(values);
  }
  if (!pattern.empty()) s["pattern"] = pattern;
  if (!format.empty()) s["format"] = format;
  if (!fallback.is_null()) s["default"] = fallback;
  return s;
}

json::value ParamSpec::example_value() const {
  if (!example.is_null()) return example;
  if (!fallback.is_null()) return fallback;
  if (!choices.empty()) return json::value(choices.front());
  if (type == ParamType::integer || type == ParamType::number) return minimum ? json::value(*minimum) : json::value();
  if (type == ParamType::boolean) return true;
  if (type == ParamType::flag) return "";
  if (type == ParamType::string && !valid && max_length) return "x";
  return nullptr;
}

}  // namespace svc::http

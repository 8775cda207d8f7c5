#include "lib/http/query.hpp"

#include <charconv>

#include "lib/http/percent_decode.hpp"

namespace svc::http {

namespace {

FieldError query_error(std::string_view name, std::string type, std::string message, std::string_view input) {
  return FieldError{"query", std::string(name), std::move(type), std::move(message), std::string(input), true, {}};
}

std::string quoted_alternatives(const std::vector<std::string_view>& allowed) {
  // pydantic: "'A'", "'A' or 'B'", "'A', 'B' or 'C'"
  std::string out;
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += (i + 1 == allowed.size()) ? " or " : ", ";
    out.append("'").append(allowed[i]).append("'");
  }
  return out;
}

}  // namespace

QueryParams::QueryParams(std::string_view raw) {
  while (!raw.empty()) {
    auto amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key, value;
    bool ok = percent_decode(pair.substr(0, eq), key, true) &&
              (eq == std::string_view::npos || percent_decode(pair.substr(eq + 1), value, true));
    if (!ok) throw HttpError(Status::bad_request, "Malformed query string");
    values_.emplace_back(std::move(key), std::move(value));
  }
}

std::optional<std::string_view> QueryParams::get(std::string_view name) const {
  for (const auto& [key, value] : values_)
    if (key == name) return std::string_view(value);
  return std::nullopt;
}

bool QueryParams::has(std::string_view name) const { return get(name).has_value(); }

std::optional<std::int64_t> QueryParams::optional_integer(std::string_view name, std::int64_t min, std::int64_t max) {
  auto raw = get(name);
  if (!raw) return std::nullopt;
  std::string_view text = *raw;
  std::int64_t value = 0;
  std::string_view digits = text;
  if (digits.size() > 1 && digits.front() == '+') {
    digits.remove_prefix(1);
    if (digits.front() == '-') digits = {};  // one sign: from_chars would read "-1" after the '+'
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
    add_error(query_error(name, "int_parsing", "Input should be a valid integer, unable to parse string as an integer",
                          text));
    return std::nullopt;
  }
  if (value < min) {
    auto e = query_error(name, "greater_than_equal", "Input should be greater than or equal to " + std::to_string(min),
                         text);
    e.context["ge"] = min;
    add_error(std::move(e));
    return std::nullopt;
  }
  if (value > max) {
    auto e = query_error(name, "less_than_equal", "Input should be less than or equal to " + std::to_string(max), text);
    e.context["le"] = max;
    add_error(std::move(e));
    return std::nullopt;
  }
  return value;
}

std::int64_t QueryParams::integer(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  return optional_integer(name, min, max).value_or(fallback);
}

bool QueryParams::boolean(std::string_view name, bool fallback) {
  auto raw = get(name);
  if (!raw) return fallback;
  std::string lower;
  for (char c : *raw) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  for (std::string_view t : {"true", "1", "yes", "on", "t", "y"})
    if (lower == t) return true;
  for (std::string_view f : {"false", "0", "no", "off", "f", "n"})
    if (lower == f) return false;
  add_error(query_error(name, "bool_parsing", "Input should be a valid boolean, unable to interpret input", *raw));
  return fallback;
}

std::string QueryParams::literal(std::string_view name, std::string_view fallback,
                                 const std::vector<std::string_view>& allowed) {
  auto raw = get(name);
  if (!raw) return std::string(fallback);
  return checked_literal(name, *raw, allowed).value_or(std::string(fallback));
}

std::optional<std::string> QueryParams::optional_literal(std::string_view name,
                                                         const std::vector<std::string_view>& allowed) {
  auto raw = get(name);
  if (!raw || raw->empty()) return std::nullopt;
  return checked_literal(name, *raw, allowed);
}

std::optional<std::string> QueryParams::checked_literal(std::string_view name, std::string_view raw,
                                                        const std::vector<std::string_view>& allowed) {
  for (auto a : allowed)
    if (raw == a) return std::string(a);
  auto expected = quoted_alternatives(allowed);
  auto e = query_error(name, "literal_error", "Input should be " + expected, raw);
  e.context["expected"] = expected;
  add_error(std::move(e));
  return std::nullopt;
}

std::optional<std::string> QueryParams::optional_matching(std::string_view name, std::string_view pattern,
                                                          const std::function<bool(std::string_view)>& valid) {
  auto raw = get(name);
  if (!raw) return std::nullopt;
  if (valid(*raw)) return std::string(*raw);
  auto e = query_error(name, "string_pattern_mismatch", "String should match pattern '" + std::string(pattern) + "'",
                       *raw);
  e.context["pattern"] = pattern;
  add_error(std::move(e));
  return std::nullopt;
}

std::string QueryParams::matching(std::string_view name, std::string_view fallback, std::string_view pattern,
                                  const std::function<bool(std::string_view)>& valid) {
  return optional_matching(name, pattern, valid).value_or(std::string(fallback));
}

void QueryParams::add_error(FieldError error) { errors_.push_back(std::move(error)); }

void QueryParams::finish() const {
  if (!errors_.empty()) throw ValidationError(errors_);
}

}  // namespace svc::http

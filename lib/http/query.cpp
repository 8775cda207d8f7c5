#include "lib/http/query.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "lib/http/percent_decode.hpp"
#include "lib/http/router.hpp"

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

// A plain decimal: magnitude digits without leading zeros ("0" for none) and
// fraction digits without trailing zeros.
struct Decimal {
  bool negative = false;
  std::string integer;
  std::string fraction;
  std::string canonical() const {
    std::string out = negative ? "-" + integer : integer;
    if (!fraction.empty()) out.append(".").append(fraction);
    return out;
  }
};

// Digits with at most one '.' (".5" and "5." as PostgreSQL reads them) after
// an optional sign; `places` gets the fraction digits as written.
std::optional<Decimal> parse_plain_decimal(std::string_view text, std::size_t& places) {
  Decimal d;
  d.negative = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  const auto dot = text.find('.');
  std::string_view integer = text.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  const auto digits = [](std::string_view s) { return s.find_first_not_of("0123456789") == std::string_view::npos; };
  if ((integer.empty() && fraction.empty()) || !digits(integer) || !digits(fraction)) return std::nullopt;
  places = fraction.size();
  integer.remove_prefix(std::min(integer.find_first_not_of('0'), integer.size()));
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  d.integer = integer.empty() ? "0" : std::string(integer);
  d.fraction = std::string(fraction);
  if (d.integer == "0" && d.fraction.empty()) d.negative = false;  // "-0" is 0
  return d;
}

// -1, 0 or 1 as `a` is below, equal to or above `b`.
int compare(const Decimal& a, std::int64_t b) {
  const bool b_negative = b < 0;
  std::string b_digits = std::to_string(b);
  if (b_negative) b_digits.erase(0, 1);
  if (a.negative != b_negative) return a.negative ? -1 : 1;
  int magnitude = 0;
  if (a.integer.size() != b_digits.size()) {
    magnitude = a.integer.size() < b_digits.size() ? -1 : 1;
  } else if (a.integer != b_digits) {
    magnitude = a.integer < b_digits ? -1 : 1;
  } else {
    magnitude = a.fraction.empty() ? 0 : 1;
  }
  return a.negative ? -magnitude : magnitude;
}

}  // namespace

QueryParams::QueryParams(const RequestContext& ctx) : QueryParams(ctx.query) { ctx_ = &ctx; }

std::optional<std::string_view> QueryParams::raw(const ParamSpec& p) {
  if (ctx_ != nullptr && ctx_->doc != nullptr) {
    const auto& listed = ctx_->doc->params;
    const bool documented = std::any_of(listed.begin(), listed.end(),
                                        [&p](const ParamSpec& d) { return d.name == p.name && d.in == p.in; });
    if (!documented) throw std::logic_error("parameter " + p.name + " is read but not in its route's doc");
  }
  if (p.in == ParamIn::path) {
    if (ctx_ == nullptr) return std::nullopt;
    for (const auto& [key, value] : ctx_->params)
      if (key == p.name) return std::string_view(value);
    return std::nullopt;
  }
  return get(p.name);
}

std::optional<std::string_view> QueryParams::given(const ParamSpec& p) {
  auto value = raw(p);
  if (value && value->empty() && p.empty_is_absent) value.reset();
  if (!value && p.required) {
    add_error({p.in == ParamIn::path ? "path" : "query", p.name, "missing", "Field required", "", false, {}});
  }
  return value;
}

FieldError QueryParams::invalid(const ParamSpec& p, std::string_view input) const {
  FieldError e{p.in == ParamIn::path ? "path" : "query", p.name, p.invalid_type, p.invalid_message,
               std::string(input), true, {}};
  if (e.type.empty()) {
    e.type = "string_pattern_mismatch";
    e.message = "String should match pattern '" + p.pattern + "'";
    e.context["pattern"] = p.pattern;
  }
  return e;
}

std::optional<std::int64_t> QueryParams::optional_integer(const ParamSpec& p) {
  if (!given(p)) return std::nullopt;
  return optional_integer(p.name, p.minimum.value_or(INT64_MIN), p.maximum.value_or(INT64_MAX));
}

std::int64_t QueryParams::integer(const ParamSpec& p) {
  if (!p.fallback.is_int64()) throw std::logic_error("parameter " + p.name + " has no integer default");
  return optional_integer(p).value_or(p.fallback.get_int64());
}

std::optional<bool> QueryParams::optional_boolean(const ParamSpec& p) {
  if (!given(p)) return std::nullopt;
  return boolean(p.name, false);
}

bool QueryParams::boolean(const ParamSpec& p) {
  if (!p.fallback.is_bool()) throw std::logic_error("parameter " + p.name + " has no boolean default");
  return optional_boolean(p).value_or(p.fallback.get_bool());
}

std::optional<std::string> QueryParams::optional_number(const ParamSpec& p) {
  const auto value = given(p);
  if (!value) return std::nullopt;
  const std::string_view text = *value;
  std::size_t places = 0;
  const auto d = parse_plain_decimal(text, places);
  if (!d) {
    add_error(query_error(p.name, "float_parsing", "Input should be a valid number, unable to parse string as a number",
                          text));
    return std::nullopt;
  }
  if (p.minimum && compare(*d, *p.minimum) < 0) {
    auto e = query_error(p.name, "greater_than_equal",
                         "Input should be greater than or equal to " + std::to_string(*p.minimum), text);
    e.context["ge"] = *p.minimum;
    add_error(std::move(e));
    return std::nullopt;
  }
  if (p.max_places && places > static_cast<std::size_t>(*p.max_places)) {
    auto e = query_error(p.name, "decimal_max_places",
                         "Decimal input should have no more than " + std::to_string(*p.max_places) + " decimal places",
                         text);
    e.context["decimal_places"] = *p.max_places;
    add_error(std::move(e));
    return std::nullopt;
  }
  if (p.maximum && compare(*d, *p.maximum) > 0) {
    auto e = query_error(p.name, "less_than_equal", "Input should be less than or equal to " + std::to_string(*p.maximum),
                         text);
    e.context["le"] = *p.maximum;
    add_error(std::move(e));
    return std::nullopt;
  }
  return d->canonical();
}

std::optional<std::string> QueryParams::optional_text(const ParamSpec& p) {
  const auto value = given(p);
  if (!value) return std::nullopt;
  if (p.max_length && value->size() > *p.max_length) {
    auto e = query_error(p.name, "string_too_long",
                         "String should have at most " + std::to_string(*p.max_length) + " characters", *value);
    e.location = p.in == ParamIn::path ? "path" : "query";
    e.context["max_length"] = *p.max_length;
    add_error(std::move(e));
    return std::nullopt;
  }
  if (!p.choices.empty()) {
    const std::vector<std::string_view> allowed(p.choices.begin(), p.choices.end());
    return checked_literal(p.name, *value, allowed);
  }
  if (p.valid && !p.valid(*value)) {
    add_error(invalid(p, *value));
    return std::nullopt;
  }
  return std::string(*value);
}

std::string QueryParams::text(const ParamSpec& p) {
  if (!p.fallback.is_string()) throw std::logic_error("parameter " + p.name + " has no text default");
  return optional_text(p).value_or(std::string(p.fallback.get_string()));
}

bool QueryParams::flag(const ParamSpec& p) { return raw(p).has_value(); }

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

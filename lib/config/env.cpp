#include "lib/config/env.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "lib/core/escape.hpp"

namespace svc::config {

namespace {

constexpr std::string_view masked = "***";
constexpr std::string_view unset = "(unset)";

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// from_chars rejects a leading '+', but "+8080" is an honest way to write a
// number; the sign must be followed by the number itself, not another sign.
std::string_view strip_plus(std::string_view text) noexcept {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

// The whole text must be the number: no trailing junk, no surrounding blanks.
std::optional<std::int64_t> parse_integer(std::string_view text) noexcept {
  text = strip_plus(text);
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) noexcept {
  text = strip_plus(text);
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed | std::chars_format::scientific);
  if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Shortest text that reads back as the same double: "0.1", "3600".
std::string number_text(double value) {
  std::array<char, 64> buffer{};
  const auto [ptr, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc{} ? std::string(buffer.data(), ptr) : std::to_string(value);
}

std::string range_text(std::string_view min, std::string_view max) {
  std::string text = "(";
  text.append(min).append("-").append(max).append(")");
  return text;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text.append(separator);
    text.append(item);
  }
  return text;
}

}  // namespace

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view space = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    // getenv needs a NUL-terminated name; string_view does not promise one.
    const std::string key(name);
    if (const char* value = std::getenv(key.c_str())) return std::string(value);
    return std::nullopt;
  };
}

EnvLookup map_env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    const auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

ConfigError::ConfigError(std::string variable, std::string message)
    : std::runtime_error(std::move(message)), variable_(std::move(variable)) {}

std::string shown(const Variable& v, std::string_view value) {
  return v.secret ? std::string(masked) : std::string(value);
}

std::string error_line(std::string_view name, std::string_view safe_value, std::string_view problem) {
  std::string line(name);
  line += "=\"";
  core::append_escaped(line, safe_value, core::Escape::quoted);
  line += "\" ";
  line += problem;
  return line;
}

std::string seconds_text(std::chrono::milliseconds value) {
  return number_text(static_cast<double>(value.count()) / 1000.0);
}

EnvReader::EnvReader(EnvLookup lookup) : lookup_(std::move(lookup)) {}

std::optional<std::string> EnvReader::raw(std::string_view name) const {
  auto value = lookup_(name);
  // `PORT=` in a manifest means "not set": the default applies.
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::string EnvReader::string(const Variable& v, std::string fallback) {
  const auto value = raw(v.name);
  if (!value) {
    record(v, v.secret && fallback.empty() ? std::string(unset) : shown(v, fallback));
    return fallback;
  }
  record(v, shown(v, *value));
  return *value;
}

std::string EnvReader::required_string(const Variable& v) {
  const auto value = raw(v.name);
  if (!value) {
    std::string message = v.name + " is not set";
    if (!v.expected.empty()) message += " (expected " + v.expected + ")";
    throw ConfigError(v.name, std::move(message));
  }
  record(v, shown(v, *value));
  return *value;
}

std::int64_t EnvReader::integer(const Variable& v, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto value = raw(v.name);
  if (!value) {
    record(v, std::to_string(fallback));
    return fallback;
  }
  const auto parsed = parse_integer(*value);
  if (!parsed || *parsed < min || *parsed > max) {
    throw ConfigError(v.name, error_line(v.name, shown(v, *value),
                                         "is not an integer " + range_text(std::to_string(min), std::to_string(max))));
  }
  record(v, shown(v, std::to_string(*parsed)));
  return *parsed;
}

std::uint16_t EnvReader::port(const Variable& v, std::uint16_t fallback) {
  const auto value = raw(v.name);
  if (!value) {
    record(v, std::to_string(fallback));
    return fallback;
  }
  const auto parsed = parse_integer(*value);
  if (!parsed || *parsed < 1 || *parsed > 65535) {
    throw ConfigError(v.name, error_line(v.name, shown(v, *value), "is not a port (1-65535)"));
  }
  record(v, shown(v, std::to_string(*parsed)));
  return static_cast<std::uint16_t>(*parsed);
}

bool EnvReader::boolean(const Variable& v, bool fallback) {
  const auto value = raw(v.name);
  bool result = fallback;
  if (value) {
    constexpr std::array<std::string_view, 4> truthy{"true", "1", "yes", "on"};
    constexpr std::array<std::string_view, 4> falsy{"false", "0", "no", "off"};
    const auto matches = [&](std::string_view word) { return equals_ignore_case(*value, word); };
    if (std::any_of(truthy.begin(), truthy.end(), matches)) {
      result = true;
    } else if (std::any_of(falsy.begin(), falsy.end(), matches)) {
      result = false;
    } else {
      throw ConfigError(v.name, error_line(v.name, shown(v, *value), "is not a boolean (true|false)"));
    }
  }
  record(v, shown(v, result ? "true" : "false"));
  return result;
}

std::chrono::milliseconds EnvReader::seconds(const Variable& v, std::chrono::milliseconds fallback, double min,
                                             double max) {
  return seconds(v, static_cast<double>(fallback.count()) / 1000.0, min, max);
}

std::chrono::milliseconds EnvReader::seconds(const Variable& v, double fallback, double min, double max) {
  const auto value = raw(v.name);
  double result = fallback;
  if (value) {
    const auto parsed = parse_number(*value);
    if (!parsed || *parsed < min || *parsed > max) {
      throw ConfigError(v.name, error_line(v.name, shown(v, *value),
                                           "is not a number of seconds " + range_text(number_text(min), number_text(max))));
    }
    result = *parsed;
  }
  const std::chrono::milliseconds duration{std::llround(result * 1000.0)};
  record(v, shown(v, seconds_text(duration)));
  return duration;
}

std::string EnvReader::one_of(const Variable& v, std::string fallback, const std::vector<std::string>& allowed) {
  const auto value = raw(v.name);
  if (!value) {
    record(v, shown(v, fallback));
    return fallback;
  }
  // Case-insensitive like the booleans; the canonical spelling is returned.
  const auto it = std::find_if(allowed.begin(), allowed.end(),
                               [&](const std::string& option) { return equals_ignore_case(*value, option); });
  if (it == allowed.end()) {
    throw ConfigError(v.name, error_line(v.name, shown(v, *value), "is not one of " + join(allowed, "|")));
  }
  record(v, shown(v, *it));
  return *it;
}

std::vector<std::string> EnvReader::list(const Variable& v) {
  std::vector<std::string> items;
  if (const auto value = raw(v.name)) {
    std::string_view rest = *value;
    while (true) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      if (!item.empty()) items.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (items.empty()) {
    record(v, v.secret ? std::string(unset) : std::string());
  } else {
    record(v, v.secret ? std::string(masked) : join(items, ","));
  }
  return items;
}

void EnvReader::record(const Variable& v, std::string shown_value) {
  const auto it = std::find_if(effective_.begin(), effective_.end(),
                               [&](const Effective& entry) { return entry.name == v.name; });
  if (it != effective_.end()) {
    it->value = std::move(shown_value);
  } else {
    effective_.push_back(Effective{v.name, std::move(shown_value)});
  }
}

}  // namespace svc::config

#include "app/exchanges/decimal.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace p2p {

namespace {

constexpr std::size_t max_integer_digits = 12;   // numeric(20,8)
constexpr std::size_t max_fraction_digits = 8;

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

ParsedDecimal rejected(std::string error) { return {std::nullopt, std::move(error)}; }

// The input as it may appear in a log line: short, printable ASCII.
std::string quoted(std::string_view text) {
  constexpr std::size_t shown = 32;
  std::string out = "\"";
  for (char c : text.substr(0, shown)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  out.append(text.size() > shown ? "...\"" : "\"");
  return out;
}

ParsedDecimal not_a_decimal(std::string_view text) {
  std::string error = "not a decimal: ";
  error.append(quoted(text));
  return rejected(std::move(error));
}

// "1,234,567" -> "1234567"; nullopt unless every group after the first has
// exactly three digits and the first has one to three, not starting with 0.
std::optional<std::string> without_separators(std::string_view grouped) {
  std::string digits;
  std::size_t comma = grouped.find(',');
  std::string_view first = grouped.substr(0, comma);
  if (first.empty() || first.size() > 3 || first.front() == '0' || !all_digits(first)) return std::nullopt;
  digits.append(first);
  while (comma != std::string_view::npos) {
    grouped.remove_prefix(comma + 1);
    comma = grouped.find(',');
    std::string_view group = grouped.substr(0, comma);
    if (group.size() != 3 || !all_digits(group)) return std::nullopt;
    digits.append(group);
  }
  return digits;
}

// Adds one unit in the last place of a digit string; true on a carry out.
bool increment(std::string& digits) {
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it != '9') {
      ++*it;
      return false;
    }
    *it = '0';
  }
  return true;
}

}  // namespace

ParsedDecimal parse_decimal(std::string_view text) {
  constexpr std::string_view blanks = " \t\r\n";
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return rejected("empty");
  text = text.substr(first, text.find_last_not_of(blanks) + 1 - first);
  if (text.front() == '-') return rejected("negative");

  auto dot = text.find('.');
  std::string_view integer_text = text.substr(0, dot);
  std::string_view fraction_text = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if ((integer_text.empty() && fraction_text.empty()) || !all_digits(fraction_text)) return not_a_decimal(text);
  std::string integer;
  if (integer_text.find(',') != std::string_view::npos) {
    auto digits = without_separators(integer_text);
    if (!digits) return not_a_decimal(text);
    integer = std::move(*digits);
  } else {
    if (!all_digits(integer_text)) return not_a_decimal(text);
    integer = integer_text;
  }

  // Round to 8 places, half away from zero: integer and fraction as one digit string.
  std::string digits = integer;
  digits.append(fraction_text.substr(0, max_fraction_digits));
  std::size_t fraction_size = std::min(fraction_text.size(), max_fraction_digits);
  if (fraction_text.size() > max_fraction_digits && fraction_text[max_fraction_digits] >= '5' && increment(digits))
    digits.insert(digits.begin(), '1');

  std::string_view whole = std::string_view(digits).substr(0, digits.size() - fraction_size);
  std::string_view fraction = std::string_view(digits).substr(digits.size() - fraction_size);
  whole.remove_prefix(std::min(whole.find_first_not_of('0'), whole.size()));
  fraction = fraction.substr(0, fraction.find_last_not_of('0') + 1);  // npos + 1 == 0: all zeros
  if (whole.size() > max_integer_digits) return rejected("more than 12 integer digits");

  std::string canonical = whole.empty() ? std::string("0") : std::string(whole);
  if (!fraction.empty()) canonical.append(".").append(fraction);
  return {std::move(canonical), {}};
}

ParsedDecimal decimal_from_double(double value) {
  if (!std::isfinite(value)) return rejected("not a finite number");
  if (value < 0) return rejected("negative");
  if (value == 0) value = 0.0;  // -0.0 would print as "-0"
  // The longest shortest-round-trip fixed form of a double is ~330 characters
  // (subnormals); the largest finite ones have 309 integer digits.
  std::array<char, 512> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  if (ec != std::errc{}) return rejected("not a finite number");
  return parse_decimal(std::string_view(buffer.data(), static_cast<std::size_t>(end - buffer.data())));
}

}  // namespace p2p

#include "lib/http/retry_after.hpp"

#include <array>
#include <charconv>

namespace svc::http {

namespace {

bool number(std::string_view text, int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty() && text.front() != '-';
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", exactly 29 characters.
std::optional<std::chrono::sys_seconds> imf_fixdate(std::string_view s) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  int d = 0, y = 0, h = 0, mi = 0, se = 0;
  if (!number(s.substr(5, 2), d) || !number(s.substr(12, 4), y) || !number(s.substr(17, 2), h) ||
      !number(s.substr(20, 2), mi) || !number(s.substr(23, 2), se) || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  unsigned mo = 0;
  while (mo < months.size() && months[mo] != s.substr(8, 3)) ++mo;
  const year_month_day date{year{y}, month{mo + 1}, day{static_cast<unsigned>(d)}};
  if (mo == months.size() || !date.ok()) return std::nullopt;
  return sys_days{date} + hours{h} + minutes{mi} + seconds{se};
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  int delay = 0;
  if (number(value, delay)) return std::chrono::seconds{delay};
  const auto at = imf_fixdate(value);
  if (!at) return std::nullopt;
  const auto left = std::chrono::ceil<std::chrono::seconds>(*at - now);
  return left.count() > 0 ? left : std::chrono::seconds{0};
}

}  // namespace svc::http

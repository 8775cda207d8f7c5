#include "lib/pg/timestamp.hpp"

#include "lib/core/rfc3339.hpp"

namespace svc::pg {

namespace {

// Reads `n` digits at `pos`; false if they are not all digits.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const unsigned digit = static_cast<unsigned char>(s[i]) - unsigned{'0'};  // one test: wraps below '0'
    if (digit > 9) return false;
    value = value * 10 + static_cast<int>(digit);
  }
  out = value;
  return true;
}

bool at(std::string_view s, std::size_t pos, char c) noexcept { return pos < s.size() && s[pos] == c; }

}  // namespace

std::optional<Micros> parse_timestamp(std::string_view s) noexcept {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!digits(s, 0, 4, y) || !at(s, 4, '-') || !digits(s, 5, 2, mo) || !at(s, 7, '-') || !digits(s, 8, 2, d))
    return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  std::size_t pos = 10;
  std::int64_t micros = 0;
  int offset_seconds = 0;
  if (pos < s.size()) {
    if (!(at(s, pos, ' ') || at(s, pos, 'T')) || !digits(s, pos + 1, 2, h) || !at(s, pos + 3, ':') ||
        !digits(s, pos + 4, 2, mi) || !at(s, pos + 6, ':') || !digits(s, pos + 7, 2, se) || h > 23 || mi > 59 ||
        se > 59)
      return std::nullopt;
    pos += 9;
    if (at(s, pos, '.')) {
      const std::size_t first = ++pos;
      int kept = 0;  // digits past the sixth (below a microsecond) are read and dropped
      for (; pos < s.size(); ++pos) {
        const unsigned digit = static_cast<unsigned char>(s[pos]) - unsigned{'0'};
        if (digit > 9) break;
        if (kept < 6) {
          micros = micros * 10 + digit;
          ++kept;
        }
      }
      if (pos == first) return std::nullopt;
      constexpr std::int64_t kScale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
      micros *= kScale[kept];
    }
    if (at(s, pos, 'Z')) {
      ++pos;
    } else if (at(s, pos, '+') || at(s, pos, '-')) {
      const int sign = s[pos] == '-' ? -1 : 1;
      int oh = 0, om = 0, os = 0;
      if (!digits(s, pos + 1, 2, oh) || oh > 23) return std::nullopt;
      pos += 3;
      if (at(s, pos, ':') && digits(s, pos + 1, 2, om)) pos += 3;
      if (at(s, pos, ':') && digits(s, pos + 1, 2, os)) pos += 3;
      if (om > 59 || os > 59) return std::nullopt;
      offset_seconds = sign * (oh * 3600 + om * 60 + os);
    }
    if (pos != s.size()) return std::nullopt;
  }
  const auto local = sys_days{date} + hours{h} + minutes{mi} + seconds{se} + microseconds{micros};
  return time_point_cast<microseconds>(local - seconds{offset_seconds});
}

bool in_timestamp_range(Micros t) noexcept {
  using namespace std::chrono;
  constexpr auto first = sys_days{year{1} / January / 1};
  constexpr auto end = sys_days{year{10000} / January / 1};
  return t >= first && t < end;
}

std::string format_timestamp(Micros t) { return core::rfc3339(t); }

void append_timestamp(std::string& out, Micros t) { core::append_rfc3339(out, t); }

}  // namespace svc::pg

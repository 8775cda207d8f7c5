#include "lib/pg/timestamp.hpp"

#include <algorithm>
#include <cstdio>

namespace svc::pg {

namespace {

// Reads `n` digits at `pos`; false if they are not all digits.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
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
      std::int64_t scale = 100000;
      for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) micros += (s[pos] - '0') * scale;
      if (pos == first) return std::nullopt;
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

std::string format_timestamp(Micros t) {
  std::string out;
  append_timestamp(out, t);
  return out;
}

void append_timestamp(std::string& out, Micros t) {
  using namespace std::chrono;
  const auto day_point = floor<days>(t);
  const year_month_day ymd{day_point};
  const hh_mm_ss<microseconds> tod{t - day_point};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {  // outside RFC 3339's four digits: rare, the slow way
    char buf[48];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", year,
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                static_cast<long long>(tod.hours().count()), static_cast<long long>(tod.minutes().count()),
                                static_cast<long long>(tod.seconds().count()),
                                static_cast<long long>(tod.subseconds().count()));
    out.append(buf, static_cast<std::size_t>(std::max(n, 0)));
    return;
  }
  // Written digit by digit: this runs for every row of every answer.
  char text[] = "0000-00-00T00:00:00.000000Z";
  const auto put = [&text](std::size_t at, std::size_t width, long long value) {
    for (std::size_t i = at + width; i > at; --i, value /= 10) text[i - 1] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, year);
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, tod.hours().count());
  put(14, 2, tod.minutes().count());
  put(17, 2, tod.seconds().count());
  put(20, 6, tod.subseconds().count());
  out.append(text, sizeof text - 1);
}

}  // namespace svc::pg

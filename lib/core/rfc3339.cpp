#include "lib/core/rfc3339.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace svc::core {

char* write_rfc3339(char* out, Micros t) noexcept {
  using namespace std::chrono;
  const auto day_point = floor<days>(t);
  const year_month_day ymd{day_point};
  const hh_mm_ss<microseconds> tod{t - day_point};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {  // outside RFC 3339's four digits: rare, the slow way
    const int n = std::snprintf(out, kRfc3339MaxSize, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", year,
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                static_cast<long long>(tod.hours().count()), static_cast<long long>(tod.minutes().count()),
                                static_cast<long long>(tod.seconds().count()),
                                static_cast<long long>(tod.subseconds().count()));
    return out + std::clamp(n, 0, static_cast<int>(kRfc3339MaxSize) - 1);
  }
  constexpr char kLayout[] = "0000-00-00T00:00:00.000000Z";
  std::memcpy(out, kLayout, sizeof kLayout - 1);
  const auto put = [out](std::size_t at, std::size_t width, long long value) {
    for (std::size_t i = at + width; i > at; --i, value /= 10) out[i - 1] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, year);
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, tod.hours().count());
  put(14, 2, tod.minutes().count());
  put(17, 2, tod.seconds().count());
  put(20, 6, tod.subseconds().count());
  return out + sizeof kLayout - 1;
}

void append_rfc3339(std::string& out, Micros t) {
  char text[kRfc3339MaxSize];
  out.append(text, static_cast<std::size_t>(write_rfc3339(text, t) - text));
}

std::string rfc3339(Micros t) {
  std::string out;
  append_rfc3339(out, t);
  return out;
}

}  // namespace svc::core

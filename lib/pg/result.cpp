#include "lib/pg/result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>

#include "lib/pg/error.hpp"

namespace svc::pg {

namespace {

[[noreturn]] void bad_value(const Result& r, std::size_t row, std::size_t col, const char* type) {
  throw PgError(errc::protocol, "column \"" + std::string(r.column_name(col)) + "\" row " + std::to_string(row) +
                                    ": expected " + type + ", got " +
                                    (r.is_null(row, col) ? std::string("NULL") : '"' + std::string(r.text(row, col)) + '"'));
}

template <typename T>
T parse_number(const Result& r, std::size_t row, std::size_t col, const char* type) {
  if (r.is_null(row, col)) bad_value(r, row, col, type);
  auto text = r.text(row, col);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) bad_value(r, row, col, type);
  return value;
}

// Reads `n` digits at `pos`; false if they are not all digits.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

void Result::Deleter::operator()(pg_result* r) const noexcept { PQclear(r); }

Result::Result(pg_result* raw) : res_(raw) {}

std::size_t Result::rows() const noexcept { return res_ ? static_cast<std::size_t>(PQntuples(res_.get())) : 0; }
std::size_t Result::columns() const noexcept { return res_ ? static_cast<std::size_t>(PQnfields(res_.get())) : 0; }

std::string_view Result::column_name(std::size_t col) const {
  const char* name = res_ ? PQfname(res_.get(), static_cast<int>(col)) : nullptr;
  return name ? std::string_view(name) : std::string_view("?");
}

std::size_t Result::column(std::string_view name) const {
  for (std::size_t c = 0; c < columns(); ++c)
    if (column_name(c) == name) return c;
  throw PgError(errc::protocol, "result has no column \"" + std::string(name) + "\"");
}

std::uint64_t Result::affected() const noexcept {
  const char* n = res_ ? PQcmdTuples(res_.get()) : nullptr;
  if (n == nullptr || *n == '\0') return 0;
  std::uint64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

bool Result::is_null(std::size_t row, std::size_t col) const {
  if (row >= rows() || col >= columns())
    throw PgError(errc::protocol, "result index out of range: row " + std::to_string(row) + ", column " +
                                      std::to_string(col));
  return PQgetisnull(res_.get(), static_cast<int>(row), static_cast<int>(col)) != 0;
}

std::string_view Result::text(std::size_t row, std::size_t col) const {
  if (is_null(row, col)) return {};
  return {PQgetvalue(res_.get(), static_cast<int>(row), static_cast<int>(col)),
          static_cast<std::size_t>(PQgetlength(res_.get(), static_cast<int>(row), static_cast<int>(col)))};
}

std::int32_t Result::int32(std::size_t row, std::size_t col) const {
  return parse_number<std::int32_t>(*this, row, col, "int4");
}
std::int64_t Result::int64(std::size_t row, std::size_t col) const {
  return parse_number<std::int64_t>(*this, row, col, "int8");
}

double Result::float64(std::size_t row, std::size_t col) const {
  auto t = is_null(row, col) ? std::string_view{} : text(row, col);
  if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (t == "Infinity") return std::numeric_limits<double>::infinity();
  if (t == "-Infinity") return -std::numeric_limits<double>::infinity();
  return parse_number<double>(*this, row, col, "float8");
}

bool Result::boolean(std::size_t row, std::size_t col) const {
  auto t = is_null(row, col) ? std::string_view{} : text(row, col);
  if (t == "t") return true;
  if (t == "f") return false;
  bad_value(*this, row, col, "bool");
}

// Accepts PostgreSQL's ISO output, "2026-11-23 09:32:53.573555+00" (also
// "T" as separator and offsets like +05:30 or -03), normalised to UTC.
std::chrono::sys_time<std::chrono::microseconds> Result::timestamp(std::size_t row, std::size_t col) const {
  using namespace std::chrono;
  std::string_view s = is_null(row, col) ? std::string_view{} : text(row, col);
  int y, mo, d, h, mi, se;
  bool ok = digits(s, 0, 4, y) && s.size() > 19 - 1 && s[4] == '-' && digits(s, 5, 2, mo) && s[7] == '-' &&
            digits(s, 8, 2, d) && (s[10] == ' ' || s[10] == 'T') && digits(s, 11, 2, h) && s[13] == ':' &&
            digits(s, 14, 2, mi) && s[16] == ':' && digits(s, 17, 2, se);
  if (!ok) bad_value(*this, row, col, "timestamptz");
  std::size_t pos = 19;
  long long micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
  }
  int offset_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
      if (!digits(s, pos + 1, 2, oh)) bad_value(*this, row, col, "timestamptz");
      pos += 3;
      if (pos < s.size() && s[pos] == ':' && digits(s, pos + 1, 2, om)) pos += 3;
      if (pos < s.size() && s[pos] == ':' && digits(s, pos + 1, 2, os)) pos += 3;
      offset_seconds = sign * (oh * 3600 + om * 60 + os);
    }
  }
  if (pos != s.size()) bad_value(*this, row, col, "timestamptz");
  auto date = year_month_day{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) bad_value(*this, row, col, "timestamptz");
  auto local = sys_days{date} + hours{h} + minutes{mi} + seconds{se} + microseconds{micros};
  return time_point_cast<microseconds>(local - seconds{offset_seconds});
}

std::string format_timestamp(std::chrono::sys_time<std::chrono::microseconds> t) {
  using namespace std::chrono;
  auto day_point = floor<days>(t);
  year_month_day ymd{day_point};
  hh_mm_ss<microseconds> tod{t - day_point};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(tod.hours().count()), static_cast<long long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()), static_cast<long long>(tod.subseconds().count()));
  return buf;
}

}  // namespace svc::pg

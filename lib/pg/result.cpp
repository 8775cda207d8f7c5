#include "lib/pg/result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <utility>

#include "lib/pg/error.hpp"
#include "lib/pg/timestamp.hpp"

namespace svc::pg {

namespace {

[[noreturn]] void bad_value(const Result& r, std::size_t row, std::size_t col, const char* type) {
  throw PgError(errc::protocol, "column \"" + std::string(r.column_name(col)) + "\" row " + std::to_string(row) +
                                    ": expected " + type + ", got " +
                                    (r.is_null(row, col) ? std::string("NULL") : '"' + std::string(r.text(row, col)) + '"'));
}

template <typename T>
T parse_number(const Result& r, std::size_t row, std::size_t col, const char* type) {
  auto text = r.text(row, col);  // NULL reads as "", which does not parse: bad_value names it NULL
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) bad_value(r, row, col, type);
  return value;
}

}  // namespace

void Result::Deleter::operator()(pg_result* r) const noexcept { PQclear(r); }

Result::Result(pg_result* raw)
    : res_(raw),
      rows_(raw ? static_cast<std::size_t>(PQntuples(raw)) : 0),
      columns_(raw ? static_cast<std::size_t>(PQnfields(raw)) : 0) {}

Result::Result(Result&& other) noexcept
    : res_(std::move(other.res_)), rows_(std::exchange(other.rows_, 0)), columns_(std::exchange(other.columns_, 0)) {}

Result& Result::operator=(Result&& other) noexcept {
  res_ = std::move(other.res_);
  rows_ = std::exchange(other.rows_, 0);
  columns_ = std::exchange(other.columns_, 0);
  return *this;
}

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

void Result::check_index(std::size_t row, std::size_t col) const {
  if (row >= rows_ || col >= columns_)
    throw PgError(errc::protocol, "result index out of range: row " + std::to_string(row) + ", column " +
                                      std::to_string(col));
}

bool Result::is_null(std::size_t row, std::size_t col) const {
  check_index(row, col);
  return PQgetisnull(res_.get(), static_cast<int>(row), static_cast<int>(col)) != 0;
}

std::string_view Result::text(std::size_t row, std::size_t col) const {
  check_index(row, col);
  // libpq gives a NULL the value "" and the length 0: no PQgetisnull needed.
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
  auto t = text(row, col);
  if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (t == "Infinity") return std::numeric_limits<double>::infinity();
  if (t == "-Infinity") return -std::numeric_limits<double>::infinity();
  return parse_number<double>(*this, row, col, "float8");
}

bool Result::boolean(std::size_t row, std::size_t col) const {
  auto t = text(row, col);
  if (t == "t") return true;
  if (t == "f") return false;
  bad_value(*this, row, col, "bool");
}

// PostgreSQL's ISO output, "2026-11-23 09:32:53.573555+00", normalised to UTC.
std::chrono::sys_time<std::chrono::microseconds> Result::timestamp(std::size_t row, std::size_t col) const {
  auto t = parse_timestamp(text(row, col));  // NULL reads as "", which does not parse
  if (!t) bad_value(*this, row, col, "timestamptz");
  return *t;
}

}  // namespace svc::pg

#pragma once
// A query result: owns the PGresult, gives typed access to text-format values.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/pg/timestamp.hpp"  // format_timestamp, for Result users

struct pg_result;

namespace svc::pg {

class Result {
 public:
  Result() = default;
  explicit Result(pg_result* raw);  // takes ownership of a finished result (its size is read here)
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;

  std::size_t rows() const noexcept { return rows_; }
  std::size_t columns() const noexcept { return columns_; }
  std::string_view column_name(std::size_t col) const;
  // Column index by name; throws PgError(protocol) if absent.
  std::size_t column(std::string_view name) const;
  // Rows affected by INSERT/UPDATE/DELETE (0 for others).
  std::uint64_t affected() const noexcept;

  bool is_null(std::size_t row, std::size_t col) const;
  std::string_view text(std::size_t row, std::size_t col) const;  // "" for NULL
  // Typed getters throw PgError(protocol) on NULL or a value that does not parse.
  std::int32_t int32(std::size_t row, std::size_t col) const;
  std::int64_t int64(std::size_t row, std::size_t col) const;
  double float64(std::size_t row, std::size_t col) const;
  bool boolean(std::size_t row, std::size_t col) const;
  // numeric stays text so no precision is lost ("1234.50000000").
  std::string numeric(std::size_t row, std::size_t col) const { return std::string(text(row, col)); }
  // timestamptz in any UTC offset, to a UTC time point (microseconds).
  std::chrono::sys_time<std::chrono::microseconds> timestamp(std::size_t row, std::size_t col) const;

  template <typename T>
  std::optional<T> optional(std::size_t row, std::size_t col, T (Result::*get)(std::size_t, std::size_t) const) const {
    if (is_null(row, col)) return std::nullopt;
    return (this->*get)(row, col);
  }

  pg_result* raw() const noexcept { return res_.get(); }

 private:
  struct Deleter {
    void operator()(pg_result* r) const noexcept;
  };
  void check_index(std::size_t row, std::size_t col) const;

  std::unique_ptr<pg_result, Deleter> res_;
  // Counted once: a row read asks for them per value (a history page, 16 columns by 20 rows).
  std::size_t rows_ = 0;
  std::size_t columns_ = 0;
};

// ISO 8601 UTC with microseconds: "2026-11-23T09:32:53.573555Z".

}  // namespace svc::pg

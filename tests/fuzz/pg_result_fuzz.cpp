// Decoding PostgreSQL's text-format values (lib/pg/result.*, timestamp.*):
// a result built without a server (PQmakeEmptyPGresult, PQsetResultAttrs,
// PQsetvalue) from the input's columns and cells, read through every typed
// getter. A getter returns a value that means what the text says, or throws
// PgError(protocol); a timestamp survives format_timestamp/parse_timestamp.

#include <libpq-fe.h>

#include <optional>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "lib/pg/error.hpp"
#include "lib/pg/result.hpp"
#include "lib/pg/timestamp.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using svc::pg::PgError;
using svc::pg::Result;

template <class Fn>
bool decodes(Fn fn) {
  try {
    fn();
    return true;
  } catch (const PgError& e) {
    FUZZ_CHECK(e.code_value() == svc::pg::errc::protocol);
    return false;
  }
}

void check_timestamp(std::string_view text) {
  auto t = svc::pg::parse_timestamp(text);
  if (!t) return;
  auto shown = svc::pg::format_timestamp(*t);
  FUZZ_CHECK(svc::pg::parse_timestamp(shown) == t);
}

void check_cell(const Result& r, std::size_t row, std::size_t col) {
  const bool null = r.is_null(row, col);
  const std::string_view text = r.text(row, col);
  if (null) FUZZ_CHECK(text.empty());
  std::int32_t i32 = 0;
  std::int64_t i64 = 0;
  bool ok32 = decodes([&] { i32 = r.int32(row, col); });
  bool ok64 = decodes([&] { i64 = r.int64(row, col); });
  if (ok32) FUZZ_CHECK(ok64 && i64 == i32);
  if (ok64) FUZZ_CHECK(!null && !text.empty());
  double d = 0;
  // Both are the integer rounded to the nearest double.
  if (decodes([&] { d = r.float64(row, col); }) && ok64) FUZZ_CHECK(d == static_cast<double>(i64));
  bool b = false;
  if (decodes([&] { b = r.boolean(row, col); })) FUZZ_CHECK(text == (b ? "t" : "f"));
  svc::pg::Micros t;
  if (decodes([&] { t = r.timestamp(row, col); })) FUZZ_CHECK(svc::pg::parse_timestamp(svc::pg::format_timestamp(t)) == t);
  // optional(): NULL is nullopt, a value is decoded (and may throw) as above.
  std::optional<std::int64_t> maybe;
  bool ok_optional = decodes([&] { maybe = r.optional(row, col, &Result::int64); });
  FUZZ_CHECK(ok_optional == (null || ok64));
  if (ok_optional) FUZZ_CHECK(maybe.has_value() == !null);
  check_timestamp(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const int columns = in.ConsumeIntegralInRange<int>(1, 4);
  const int rows = in.ConsumeIntegralInRange<int>(0, 4);
  std::vector<std::string> names;
  std::vector<PGresAttDesc> attrs(static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) names.push_back(in.ConsumeRandomLengthString(16).c_str());  // a C string
  for (int c = 0; c < columns; ++c) {
    attrs[c] = PGresAttDesc{names[c].data(), 0, 0, 0, 25 /* text */, -1, -1};
  }
  // Built in full before Result takes it: Result reads a result's shape once.
  PGresult* raw = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  FUZZ_CHECK(raw != nullptr);
  FUZZ_CHECK(PQsetResultAttrs(raw, columns, attrs.data()) != 0);
  for (int row = 0; row < rows; ++row) {
    for (int c = 0; c < columns; ++c) {
      bool null = in.ConsumeBool();
      std::string value = in.ConsumeRandomLengthString(64);
      FUZZ_CHECK(PQsetvalue(raw, row, c, null ? nullptr : value.data(), null ? -1 : static_cast<int>(value.size())));
    }
  }
  const Result r(raw);
  FUZZ_CHECK(r.rows() == static_cast<std::size_t>(rows) && r.columns() == static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) FUZZ_CHECK(r.column_name(r.column(names[c])) == names[c]);
  for (std::size_t row = 0; row < r.rows(); ++row)
    for (std::size_t c = 0; c < r.columns(); ++c) check_cell(r, row, c);
  FUZZ_CHECK(!decodes([&] { r.is_null(r.rows(), 0); }));  // out of range is an error, not a read
  check_timestamp(in.ConsumeRemainingBytesAsString());
  return 0;
}

#include "lib/pg/copy_text.hpp"

#include <doctest/doctest.h>

using svc::pg::append_copy_field;

namespace {
std::string field(std::string_view value) {
  std::string out;
  append_copy_field(out, value);
  return out;
}
}  // namespace

TEST_SUITE("copy_text") {
  TEST_CASE("plain text is copied as is, including quotes, UTF-8 and the empty string") {
    CHECK(field("") == "");
    CHECK(field("/api/v1/offers/{id}") == "/api/v1/offers/{id}");
    CHECK(field("é \"q\" 'single' ; , |") == "é \"q\" 'single' ; , |");
  }

  TEST_CASE("backslash, tab, newline and carriage return are escaped, wherever they are") {
    CHECK(field("\\") == "\\\\");
    CHECK(field("a\tb") == "a\\tb");
    CHECK(field("\nstart") == "\\nstart");
    CHECK(field("end\r") == "end\\r");
    CHECK(field("\\N") == "\\\\N");  // a literal \N is text, not NULL
    CHECK(field("x\\\t\n\ry") == "x\\\\\\t\\n\\ry");
  }

  TEST_CASE("a row: fields separated by tabs, NULL as \\N, ended by a newline") {
    std::string row = "prefix|";
    append_copy_field(row, "a\tb");
    svc::pg::append_copy_separator(row);
    svc::pg::append_copy_null(row);
    svc::pg::append_copy_separator(row);
    append_copy_field(row, "");
    svc::pg::end_copy_row(row);
    CHECK(row == "prefix|a\\tb\t\\N\t\n");
  }
}

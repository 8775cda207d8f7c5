#pragma once
// Exchange numbers ("36.50", " 1,234.50 ", 36.5, 1234) to the canonical
// decimal text that Offer holds and PostgreSQL stores as numeric(20,8).
//
// Accepted: ASCII blanks around the number; digits with at most one '.';
// ".5" and "5." (as PostgreSQL's numeric input does); ',' as a thousands
// separator only in groups of three ("1,234,567.5", not "1,23.4" or "0,123").
// Rejected: empty, a sign ('-' is "negative", '+' is not a decimal), an
// exponent in a string ("12e5"; a JSON number 12e5 is a double, see below),
// anything else, more than 12 integer digits (after rounding).
// More than 8 fraction digits are rounded to 8, half away from zero, as
// numeric(20,8) does ("0.123456785" -> "0.12345679").
// Canonical: no leading zeros but a single "0", no trailing fraction zeros,
// no trailing '.': "1234.5", "0.00000001", "100", "0".

#include <optional>
#include <string>
#include <string_view>

namespace p2p {

struct ParsedDecimal {
  std::optional<std::string> value;  // canonical, when the input is a decimal
  std::string error;                 // why not (for the skip log line), when !value
};

ParsedDecimal parse_decimal(std::string_view text);

// A JSON double: printed in its shortest round-trip form without an exponent
// (36.5 -> "36.5", 1e-9 -> "0.000000001" -> rounded to "0"), then as above.
// NaN, infinities and negative values are rejected.
ParsedDecimal decimal_from_double(double value);

}  // namespace p2p

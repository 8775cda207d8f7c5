#pragma once
// UTF-8 as RFC 3629 defines it: shortest form, no surrogates, at most
// U+10FFFF. Text from clients and upstreams is bytes; what leaves the process
// as JSON (answers, JSON logs) or as a Prometheus label must be UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

namespace svc::core {

// Length of the well-formed sequence starting at text[0], 0 if it is not one
// (an invalid, truncated or overlong sequence, or a surrogate).
std::size_t utf8_sequence_length(std::string_view text) noexcept;

bool is_valid_utf8(std::string_view text) noexcept;

// `text` with each ill-formed byte replaced by U+FFFD (as a JSON parser
// that repairs would read it), appended to `out`.
void append_valid_utf8(std::string& out, std::string_view text);

// The same, in place; returns false if nothing had to change (no copy then).
bool make_valid_utf8(std::string& text);

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace svc::core

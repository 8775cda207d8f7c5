#pragma once
// The kit's one escaper, in the three forms text leaves the process in.

#include <string>
#include <string_view>

namespace svc::core {

enum class Escape {
  json,    // RFC 8259 string contents: \" \\ \n \r \t, other control characters \u00XX; ill-formed UTF-8 → U+FFFD
  quoted,  // a value shown inside "..." on one line (error messages): \" \\ \n \r \t, other controls and DEL \xHH
  line,    // free text kept on one line (text logs): \n, other controls and DEL \xHH; quotes stay
};

// Runs of characters that need nothing are appended whole; the test is one
// table lookup per character, and for JSON (it runs over every answer) one
// test per 8-byte word where the word needs nothing.
void append_escaped(std::string& out, std::string_view text, Escape style);

inline void append_json_escaped(std::string& out, std::string_view text) { append_escaped(out, text, Escape::json); }

// The most bytes JSON escaping writes for `size` bytes of text: each byte
// can become \u00XX (U+FFFD, for a stray byte, is 3).
constexpr std::size_t json_escaped_bound(std::size_t size) noexcept { return 6 * size; }
// The same escaping written at `out`, which has room for
// json_escaped_bound(text.size()); returns the end. For writers that size
// their buffer once for a whole record instead of growing it per field.
char* write_json_escaped(char* out, std::string_view text) noexcept;

}  // namespace svc::core

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

}  // namespace svc::core

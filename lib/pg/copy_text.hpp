#pragma once
// COPY ... FROM STDIN in text format (the default format): rows of fields
// separated by a tab, each row ended by a newline, NULL written as \N. Build
// the data with these, send it with Connection::copy_in.
//
//   std::string data;
//   pg::append_copy_field(data, "a\tb");  // a\\tb
//   pg::append_copy_separator(data);
//   pg::append_copy_null(data);
//   pg::end_copy_row(data);

#include <string>
#include <string_view>

namespace svc::pg {

// `value` escaped for a text-format COPY field: backslash, tab, newline and
// carriage return become \\, \t, \n, \r; every other byte is taken as is
// (the data is in the connection's client_encoding, UTF-8 here).
void append_copy_field(std::string& out, std::string_view value);

inline void append_copy_null(std::string& out) { out.append("\\N"); }
inline void append_copy_separator(std::string& out) { out.push_back('\t'); }
inline void end_copy_row(std::string& out) { out.push_back('\n'); }

}  // namespace svc::pg

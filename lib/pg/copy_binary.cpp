#include "lib/pg/copy_binary.hpp"

namespace svc::pg {

void begin_copy_binary(std::string& out) {
  // "PGCOPY\n\377\r\n\0", then 32-bit flags and header extension length, both 0.
  out.append("PGCOPY\n\377\r\n\0" "\0\0\0\0" "\0\0\0\0", 19);
}

void end_copy_binary(std::string& out) { out.append("\xff\xff", 2); }

CopyRow::CopyRow(std::string& out, std::uint16_t fields, std::size_t text_bytes) : out_(out) {
  const auto start = out.size();
  // The field count, then at most 4 + 8 bytes per field besides the text.
  out.resize(start + 2 + std::size_t{fields} * 12 + text_bytes);
  at_ = out.data() + start;
  end_ = out.data() + out.size();
  put(fields);
}

}  // namespace svc::pg

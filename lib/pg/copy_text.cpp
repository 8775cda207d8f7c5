#include "lib/pg/copy_text.hpp"

namespace svc::pg {

void append_copy_field(std::string& out, std::string_view value) {
  std::size_t plain = 0;  // start of the run of bytes that need no escape
  for (std::size_t i = 0; i < value.size(); ++i) {
    char escaped = 0;
    switch (value[i]) {
      case '\\': escaped = '\\'; break;
      case '\t': escaped = 't'; break;
      case '\n': escaped = 'n'; break;
      case '\r': escaped = 'r'; break;
      default: continue;
    }
    out.append(value.data() + plain, i - plain);
    out.push_back('\\');
    out.push_back(escaped);
    plain = i + 1;
  }
  out.append(value.data() + plain, value.size() - plain);
}

}  // namespace svc::pg

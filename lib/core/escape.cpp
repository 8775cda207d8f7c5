#include "lib/core/escape.hpp"

#include <array>

#include "lib/core/utf8.hpp"

namespace svc::core {

namespace {

struct Tables {
  std::array<bool, 256> json{}, quoted{}, line{};
};

constexpr Tables make_tables() {
  Tables t;
  for (int c = 0; c < 0x20; ++c) {
    t.json[static_cast<std::size_t>(c)] = true;
    t.quoted[static_cast<std::size_t>(c)] = true;
    t.line[static_cast<std::size_t>(c)] = true;
  }
  t.json['"'] = t.json['\\'] = true;
  for (int c = 0x80; c < 0x100; ++c) t.json[static_cast<std::size_t>(c)] = true;  // checked as UTF-8
  t.quoted['"'] = t.quoted['\\'] = t.quoted[0x7f] = true;
  t.line[0x7f] = true;
  return t;
}

constexpr Tables kTables = make_tables();
constexpr char kHex[] = "0123456789abcdef";

void append_one(std::string& out, unsigned char c, Escape style) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r':
    case '\t':
      if (style != Escape::line) {
        out += c == '\r' ? "\\r" : "\\t";
        return;
      }
      break;
    default: break;
  }
  if (style == Escape::json) {
    const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
    out.append(escaped, sizeof escaped);
  } else {
    const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    out.append(escaped, sizeof escaped);
  }
}

}  // namespace

void append_escaped(std::string& out, std::string_view text, Escape style) {
  const auto& needs = style == Escape::json ? kTables.json : style == Escape::quoted ? kTables.quoted : kTables.line;
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!needs[c]) continue;
    if (c >= 0x80) {  // JSON only: a well-formed sequence stays in the run, anything else becomes U+FFFD
      const auto n = utf8_sequence_length(text.substr(i));
      if (n > 0) {
        i += n - 1;
        continue;
      }
      out.append(text.data() + run, i - run);
      run = i + 1;
      out.append(kReplacementCharacter);
      continue;
    }
    out.append(text.data() + run, i - run);
    run = i + 1;
    append_one(out, c, style);
  }
  out.append(text.data() + run, text.size() - run);
}

}  // namespace svc::core

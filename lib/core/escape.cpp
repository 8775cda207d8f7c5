#include "lib/core/escape.hpp"

#include <array>
#include <cstdint>
#include <cstring>

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

// JSON: the index of the first 8-byte word, from i on, that holds a byte to
// look at (a control, '"', '\\' or a UTF-8 lead/continuation byte), or of the
// last few bytes that do not fill a word. Bit tricks from "Bit Twiddling
// Hacks" (haszero, hasless): each test is exact for "some byte in the word",
// which is all this needs. Most values (ids, prices, names) are plain ASCII,
// so this passes them 8 bytes per step instead of one table lookup per byte.
std::size_t skip_plain_json(std::string_view text, std::size_t i) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  while (i + 8 <= text.size()) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    const std::uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    const std::uint64_t control = (w - ones * 0x20) & ~w;  // a byte below 0x20 (w's high bytes: below)
    const std::uint64_t special =
        (control | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | w) & highs;
    if (special != 0) break;
    i += 8;
  }
  return i;
}

}  // namespace

void append_escaped(std::string& out, std::string_view text, Escape style) {
  const auto& needs = style == Escape::json ? kTables.json : style == Escape::quoted ? kTables.quoted : kTables.line;
  std::size_t run = 0;
  std::size_t bytewise_until = 0;  // the word found by skip_plain_json is looked at byte by byte
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (style == Escape::json && i >= bytewise_until) {
      i = skip_plain_json(text, i);
      if (i == text.size()) break;
      bytewise_until = i + 8;
    }
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

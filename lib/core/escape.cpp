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

// Where escaped text goes: the end of a string, or a buffer sized for the
// worst case (json_escaped_bound). One algorithm for both.
struct StringSink {
  std::string& out;
  void put(const char* p, std::size_t n) { out.append(p, n); }
};
struct PointerSink {
  char* at;
  void put(const char* p, std::size_t n) {
    std::memcpy(at, p, n);
    at += n;
  }
};

template <class Sink>
void put_one(Sink& sink, unsigned char c, Escape style) {
  switch (c) {
    case '"': sink.put("\\\"", 2); return;
    case '\\': sink.put("\\\\", 2); return;
    case '\n': sink.put("\\n", 2); return;
    case '\r':
    case '\t':
      if (style != Escape::line) {
        sink.put(c == '\r' ? "\\r" : "\\t", 2);
        return;
      }
      break;
    default: break;
  }
  if (style == Escape::json) {
    const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
    sink.put(escaped, sizeof escaped);
  } else {
    const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    sink.put(escaped, sizeof escaped);
  }
}

// True if no byte of the word needs a look (a control, '"', '\\' or a UTF-8
// lead/continuation byte). Bit tricks from "Bit Twiddling Hacks" (haszero,
// hasless): each test is exact for "some byte in the word", which is all
// this needs.
bool plain_json(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
  const std::uint64_t control = (w - ones * 0x20) & ~w;  // a byte below 0x20 (w's high bytes: below)
  return ((control | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | w) & highs) == 0;
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// JSON: the index of the first 8-byte word, from i on, that holds a byte to
// look at, or text.size() when none does. Most values (ids, prices, names)
// are plain ASCII, so this passes them 8 bytes per step instead of one table
// lookup per byte; the last few bytes are tested as the (overlapping) last
// word.
std::size_t skip_plain_json(std::string_view text, std::size_t i) {
  for (; i + 8 <= text.size(); i += 8)
    if (!plain_json(load<std::uint64_t>(text.data() + i))) return i;
  if (i < text.size() && text.size() >= 8 && plain_json(load<std::uint64_t>(text.data() + text.size() - 8)))
    return text.size();
  return i;
}

// The pointer form's fast path: copies text's plain start to out as it
// tests it, a word at a time, and returns how much it copied: all of text,
// or up to the first word that holds a byte to look at (a word boundary, so
// a character boundary too). Values of 2 to 7 bytes are tested as one word
// made of two overlapping halves, so a code or a short name costs one test
// and two stores, not a byte loop and a copy call. Nothing is written past
// out + text.size().
std::size_t copy_plain_json(char* out, std::string_view text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  if (n < 2) return 0;
  if (n < 4) {
    const auto a = load<std::uint16_t>(p), b = load<std::uint16_t>(p + n - 2);
    if (!plain_json(a | std::uint64_t{b} << 16 | 0x2020202000000000ULL)) return 0;  // padded with spaces
    store(out, a);
    store(out + n - 2, b);
    return n;
  }
  if (n < 8) {
    const auto a = load<std::uint32_t>(p), b = load<std::uint32_t>(p + n - 4);
    if (!plain_json(a | std::uint64_t{b} << 32)) return 0;
    store(out, a);
    store(out + n - 4, b);
    return n;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const auto w = load<std::uint64_t>(p + i);
    if (!plain_json(w)) return i;
    store(out + i, w);
  }
  if (i == n) return n;
  const auto last = load<std::uint64_t>(p + n - 8);  // overlaps bytes already copied
  if (!plain_json(last)) return i;
  store(out + n - 8, last);
  return n;
}

template <class Sink>
void escape(Sink& sink, std::string_view text, Escape style) {
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
      sink.put(text.data() + run, i - run);
      run = i + 1;
      sink.put(kReplacementCharacter.data(), kReplacementCharacter.size());
      continue;
    }
    sink.put(text.data() + run, i - run);
    run = i + 1;
    put_one(sink, c, style);
  }
  sink.put(text.data() + run, text.size() - run);
}

}  // namespace

void append_escaped(std::string& out, std::string_view text, Escape style) {
  StringSink sink{out};
  escape(sink, text, style);
}

char* write_json_escaped(char* out, std::string_view text) noexcept {
  const std::size_t plain = copy_plain_json(out, text);
  if (plain == text.size()) return out + plain;
  PointerSink sink{out + plain};
  escape(sink, text.substr(plain), Escape::json);
  return sink.at;
}

}  // namespace svc::core

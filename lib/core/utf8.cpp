#include "lib/core/utf8.hpp"

namespace svc::core {

std::size_t utf8_sequence_length(std::string_view s) noexcept {
  if (s.empty()) return 0;
  const auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  // RFC 3629 section 4: the second byte's range depends on the first, which
  // excludes overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF)
  // and code points past U+10FFFF (F4 90..BF).
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  return n;
}

namespace {
// Where the first ill-formed byte is, or text.size().
std::size_t first_invalid(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;  // ASCII, the common case
      continue;
    }
    const auto n = utf8_sequence_length(text.substr(i));
    if (n == 0) return i;
    i += n;
  }
  return i;
}
}  // namespace

bool is_valid_utf8(std::string_view text) noexcept { return first_invalid(text) == text.size(); }

void append_valid_utf8(std::string& out, std::string_view text) {
  for (;;) {
    const auto bad = first_invalid(text);
    out.append(text.data(), bad);
    if (bad == text.size()) return;
    out.append(kReplacementCharacter);
    text.remove_prefix(bad + 1);
  }
}

bool make_valid_utf8(std::string& text) {
  if (is_valid_utf8(text)) return false;
  std::string fixed;
  fixed.reserve(text.size() + 16);
  append_valid_utf8(fixed, text);
  text = std::move(fixed);
  return true;
}

}  // namespace svc::core

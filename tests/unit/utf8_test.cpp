#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lib/core/escape.hpp"
#include "lib/core/utf8.hpp"

using namespace svc::core;

namespace {
std::string repaired(std::string_view text) {
  std::string out;
  append_valid_utf8(out, text);
  return out;
}
std::string json_escaped(std::string_view text) {
  std::string out;
  append_json_escaped(out, text);
  return out;
}
// The pointer form, into a heap block of exactly the bound it promises (so
// the sanitizer builds catch a byte written past it).
std::string json_written(std::string_view text) {
  std::vector<char> buffer(std::max<std::size_t>(json_escaped_bound(text.size()), 1));  // never a zero-sized block
  const char* begin = buffer.data();
  const char* end = write_json_escaped(buffer.data(), text);
  REQUIRE(end <= begin + json_escaped_bound(text.size()));
  return std::string(begin, end);
}
constexpr std::string_view kFffd = "\xEF\xBF\xBD";
}  // namespace

TEST_CASE("well-formed UTF-8 is valid: ASCII, 2, 3 and 4 bytes, the edges of each range") {
  for (std::string_view ok : {"", "plain", "\xC2\x80", "\xDF\xBF", "caf\xC3\xA9", "\xE0\xA0\x80", "\xED\x9F\xBF",
                              "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
    CAPTURE(ok);
    CHECK(is_valid_utf8(ok));
    CHECK(repaired(ok) == ok);
  }
}

TEST_CASE("ill-formed UTF-8 is not: stray, overlong, surrogate, past U+10FFFF, truncated") {
  for (std::string_view bad : {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80",
                               "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE2\x82",
                               "\xF0\x9F\x98"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_utf8(bad));
    CHECK(is_valid_utf8(repaired(bad)));
  }
}

TEST_CASE("repair: each ill-formed byte becomes U+FFFD, the rest stays") {
  CHECK(repaired("a\xFF" "b") == "a" + std::string(kFffd) + "b");
  CHECK(repaired("\xFF\xFE") == std::string(kFffd) + std::string(kFffd));
  CHECK(repaired("\xC3(") == std::string(kFffd) + "(");
  CHECK(repaired("ok \xC3\xA9 \xE2\x82") == "ok \xC3\xA9 " + std::string(kFffd) + std::string(kFffd));
  std::string in_place = "x\x80y";
  CHECK(make_valid_utf8(in_place));
  CHECK(in_place == "x" + std::string(kFffd) + "y");
  std::string fine = "caf\xC3\xA9";
  CHECK_FALSE(make_valid_utf8(fine));
}

TEST_CASE("JSON escaping keeps well-formed UTF-8 as it is and writes U+FFFD for the rest") {
  CHECK(json_escaped("caf\xC3\xA9 \"q\"\n") == "caf\xC3\xA9 \\\"q\\\"\\n");
  CHECK(json_escaped("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
  CHECK(json_escaped("a\xFF\x01") == "a" + std::string(kFffd) + "\\u0001");
  CHECK(json_escaped("\xED\xA0\x80") == std::string(kFffd) + std::string(kFffd) + std::string(kFffd));
  CHECK(is_valid_utf8(json_escaped("\xC0\xAF\xE0\x80 tail")));
}

// The word-at-a-time skip must find a byte to escape at every position of a
// word and at every length: compare with the plain per-byte rule.
TEST_CASE("JSON escaping into a buffer: the worst case fills json_escaped_bound exactly") {
  for (std::size_t length = 0; length <= 17; ++length) {
    const std::string controls(length, '\x01');
    CAPTURE(length);
    CHECK(json_written(controls).size() == json_escaped_bound(length));
    CHECK(json_written(controls) == json_escaped(controls));
  }
}

TEST_CASE("JSON escaping: every special byte, at every offset and length, as the per-byte rule") {
  const auto per_byte = [](std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80) {
        const auto n = utf8_sequence_length(text.substr(i));
        if (n > 0) {
          out.append(text.substr(i, n));
          i += n - 1;
        } else {
          out.append(kFffd);
        }
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n' || c == '\r' || c == '\t') {
        out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      } else if (c < 0x20) {
        constexpr char hex[] = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  };
  const std::string specials[] = {"\"", "\\", "\n", "\r", "\t", std::string(1, '\0'), "\x01", "\x1f",
                                  "\x7f", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF", "\xC3", " ", "~"};
  for (std::size_t length = 0; length <= 24; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const auto& special : specials) {
        std::string text(length, 'a');
        text.insert(at, special);
        CAPTURE(length);
        CAPTURE(at);
        CHECK(json_escaped(text) == per_byte(text));
        CHECK(json_written(text) == per_byte(text));
      }
    }
  }
}

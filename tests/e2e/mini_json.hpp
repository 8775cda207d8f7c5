#pragma once
// A tiny JSON reader for e2e assertions on response bodies (the e2e tests stay
// free of Boost, and so of Boost.JSON). Strict enough for tests: throws
// std::runtime_error on malformed input, including trailing garbage.

#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace testsupport {

struct Json {
  enum class Type { null, boolean, number, string, array, object } type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string text;                   // a string, or a number's spelling
  std::vector<Json> items;            // array
  std::map<std::string, Json> fields; // object
  std::vector<std::string> order;     // object keys in document order

  bool has(const std::string& key) const { return type == Type::object && fields.count(key) > 0; }
  // The member `key` of an object; throws if missing.
  const Json& operator[](const std::string& key) const {
    auto it = fields.find(key);
    if (type != Type::object || it == fields.end()) throw std::runtime_error("JSON: no member \"" + key + "\"");
    return it->second;
  }
  bool is_integer() const { return type == Type::number && text.find_first_of(".eE") == std::string::npos; }
  long long integer() const {
    if (!is_integer()) throw std::runtime_error("JSON: not an integer: " + text);
    return std::stoll(text);
  }
};

namespace mini_json_detail {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}
  Json document() {
    Json v = value();
    ws();
    if (pos_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
  }
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  char peek() { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void expect(char c) {
    ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) fail("bad escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          if (pos_ + 4 > s_.size()) fail("bad \\u escape");
          unsigned code = static_cast<unsigned>(std::stoul(std::string(s_.substr(pos_, 4)), nullptr, 16));
          pos_ += 4;
          if (code < 0x80) {
            out.push_back(static_cast<char>(code));
          } else {
            out += "\\u" + std::string(s_.substr(pos_ - 4, 4));  // good enough for assertions
          }
          break;
        }
        default: fail("bad escape");
      }
    }
  }
  Json value() {
    ws();
    Json v;
    char c = peek();
    if (c == '{') {
      v.type = Json::Type::object;
      ++pos_;
      ws();
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        std::string key = string();
        expect(':');
        Json member = value();
        if (!v.fields.emplace(key, std::move(member)).second) fail("duplicate key \"" + key + "\"");
        v.order.push_back(key);
        ws();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.type = Json::Type::array;
      ++pos_;
      ws();
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        ws();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.type = Json::Type::string;
      v.text = string();
      return v;
    }
    if (literal("true")) {
      v.type = Json::Type::boolean;
      v.boolean = true;
      return v;
    }
    if (literal("false")) {
      v.type = Json::Type::boolean;
      return v;
    }
    if (literal("null")) return v;
    std::size_t start = pos_;
    while (pos_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[pos_]) != std::string_view::npos) ++pos_;
    if (start == pos_) fail("unexpected character");
    v.type = Json::Type::number;
    v.text = std::string(s_.substr(start, pos_ - start));
    char* end = nullptr;
    v.number = std::strtod(v.text.c_str(), &end);
    if (end != v.text.c_str() + v.text.size()) fail("bad number");
    return v;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace mini_json_detail

inline Json parse_json(std::string_view text) { return mini_json_detail::Parser(text).document(); }

}  // namespace testsupport

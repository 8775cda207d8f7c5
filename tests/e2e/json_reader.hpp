#pragma once
// Response bodies and JSON log lines as plain values for e2e assertions. The
// parsing is Boost.JSON's (json_reader.cpp); this header stays free of Boost
// so the e2e test files compile quickly.

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace testsupport {

struct Json {
  enum class Type { null, boolean, number, string, array, object } type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string text;                    // a string, or a number's spelling
  std::vector<Json> items;             // array
  std::map<std::string, Json> fields;  // object

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

// Throws (a std::runtime_error) on malformed input, including trailing garbage.
Json parse_json(std::string_view text);

}  // namespace testsupport

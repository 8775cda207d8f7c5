#include "lib/pg/params.hpp"

#include <charconv>

#include "lib/pg/result.hpp"

namespace svc::pg {

Params& Params::add(std::nullopt_t) {
  values_.emplace_back(std::nullopt);
  return *this;
}

Params& Params::add(std::string_view v) {
  values_.emplace_back(std::string(v));
  return *this;
}

Params& Params::add(bool v) {
  values_.emplace_back(v ? "true" : "false");
  return *this;
}

Params& Params::add(std::int32_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

Params& Params::add(std::int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

Params& Params::add(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that round-trips
  values_.emplace_back(std::string(buf, end));
  return *this;
}

Params& Params::add(std::chrono::sys_time<std::chrono::microseconds> v) {
  values_.emplace_back(format_timestamp(v));
  return *this;
}

Params& Params::add(const std::vector<std::string>& elements) {
  std::string literal = "{";
  for (const auto& e : elements) {
    if (literal.size() > 1) literal += ',';
    // Always quoted: then only '"' and '\\' need escaping (NULL, spaces,
    // commas and braces are plain text inside quotes).
    literal += '"';
    for (const char c : e) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  values_.emplace_back(std::move(literal));
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

}  // namespace svc::pg

#include "lib/http/header_values.hpp"

#include <string>

#include <boost/beast/core/string.hpp>

namespace svc::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(element) for each element of a comma-separated list, trimmed,
// empty ones skipped; stops when f returns true, and says so.
template <typename F>
bool any_element(std::string_view list, F f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto element = trim(list.substr(0, comma));
    if (!element.empty() && f(element)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// "0", "0.5", "1.000" → a weight in thousandths; an unreadable one counts as 1.
int qvalue_thousandths(std::string_view q) noexcept {
  if (q.empty() || (q[0] != '0' && q[0] != '1')) return 1000;
  if (q[0] == '1') return 1000;
  int value = 0, scale = 100;
  for (std::size_t i = 2; i < q.size() && i < 5 && q[1] == '.'; ++i) {
    if (q[i] < '0' || q[i] > '9') break;
    value += (q[i] - '0') * scale;
    scale /= 10;
  }
  return value;
}

}  // namespace

bool header_list_contains(std::string_view list, std::string_view token) noexcept {
  return any_element(list, [token](std::string_view e) { return boost::beast::iequals(e, token); });
}

void add_vary(Response& response, std::string_view token) {
  const auto current = response[bhttp::field::vary];
  if (current.empty()) {
    response.set(bhttp::field::vary, token);
    return;
  }
  if (current == "*" || header_list_contains(current, token)) return;
  std::string joined(current);
  joined.append(", ").append(token);
  response.set(bhttp::field::vary, joined);
}

bool accepts_coding(std::string_view accept_encoding, std::string_view coding) noexcept {
  int named = -1, wildcard = -1;  // weights; -1: not mentioned
  any_element(accept_encoding, [&](std::string_view e) {
    const auto semi = e.find(';');
    const auto name = trim(e.substr(0, semi));
    int weight = 1000;
    if (semi != std::string_view::npos) {
      auto params = trim(e.substr(semi + 1));
      if (params.size() > 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=')
        weight = qvalue_thousandths(trim(params.substr(2)));
    }
    if (boost::beast::iequals(name, coding)) named = weight;
    if (name == "*") wildcard = weight;
    return false;
  });
  if (named >= 0) return named > 0;  // its own entry wins over "*"
  return wildcard > 0;
}

bool none_match_hits(std::string_view if_none_match, std::string_view etag) noexcept {
  const auto opaque = [](std::string_view t) {
    if (t.size() > 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  const auto want = opaque(etag);
  return any_element(if_none_match, [&](std::string_view e) { return e == "*" || opaque(e) == want; });
}

}  // namespace svc::http

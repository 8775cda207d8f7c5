#include "lib/http/target.hpp"

namespace svc::http {

namespace {

bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// After the authority: "/path?query", "?query" or "".
Target split(std::string_view rest, Target::Form form) noexcept {
  Target t;
  t.form = form;
  const auto q = rest.find('?');
  t.path = rest.substr(0, q);
  if (q != std::string_view::npos) t.query = rest.substr(q + 1);
  if (t.path.empty()) t.path = "/";  // section 3.2.1: an empty path means "/"
  return t;
}

}  // namespace

std::optional<Target> parse_target(std::string_view target) noexcept {
  if (target.empty()) return std::nullopt;
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return std::nullopt;
  }
  if (target == "*") return Target{Target::Form::asterisk, target, {}};
  if (target.front() == '/') return split(target, Target::Form::origin);

  const auto colon = target.find("://");
  if (colon == std::string_view::npos) return std::nullopt;  // authority form or a relative path
  const auto scheme = target.substr(0, colon);
  if (!iequals_ascii(scheme, "http") && !iequals_ascii(scheme, "https")) return std::nullopt;
  auto rest = target.substr(colon + 3);
  const auto authority_end = rest.find_first_of("/?");
  const auto authority = rest.substr(0, authority_end);
  // RFC 9110 section 4.2.1: an http URI with an empty host is invalid, and
  // userinfo ("user@host") is to be treated as an error. The Host header is
  // ignored for this form (RFC 9112 section 3.2.2); routing looks at neither.
  if (authority.empty() || authority.front() == ':' || authority.find('@') != std::string_view::npos)
    return std::nullopt;
  rest.remove_prefix(authority_end == std::string_view::npos ? rest.size() : authority_end);
  return split(rest, Target::Form::absolute);
}

}  // namespace svc::http

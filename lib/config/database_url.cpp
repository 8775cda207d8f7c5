#include "lib/config/database_url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "lib/core/escape.hpp"

namespace svc::config {

namespace urls = boost::urls;

namespace {

constexpr std::string_view masked = "***";

// Reasons name what is wrong and what would be right; none quotes anything
// from the user-info part, so the password cannot leak through them.
[[noreturn]] void reject(std::string reason) { throw std::invalid_argument(std::move(reason)); }

// A piece of the URL in "...", escaped: a percent-decoded query key may hold
// a newline (%0A), and the error is one line.
std::string quoted(std::string_view text) {
  std::string out("\"");
  core::append_escaped(out, text, core::Escape::quoted);
  out += '"';
  return out;
}

constexpr std::string_view malformed_reason =
    "malformed URL (percent-encode special characters in the user name and password, e.g. @ as %40)";

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(), lower);
  return result;
}

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool is_scheme(std::string_view text) noexcept {
  if (text.empty() || !is_alpha(text.front())) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'; });
}

// conninfo keywords are written unquoted, so only identifiers may pass.
bool is_keyword(std::string_view text) noexcept {
  if (text.empty() || !(is_alpha(text.front()) || text.front() == '_')) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

bool is_password_keyword(std::string_view key) { return lowercase(key) == "password"; }

// Returns the driver of "postgresql+<driver>", "" for the plain schemes,
// and rejects everything else.
std::string accepted_driver(std::string_view scheme) {
  const std::string name = lowercase(scheme);
  if (name == "postgresql" || name == "postgres") return {};
  constexpr std::string_view sqlalchemy_prefix = "postgresql+";
  if (name.size() > sqlalchemy_prefix.size() && name.starts_with(sqlalchemy_prefix)) {
    return name.substr(sqlalchemy_prefix.size());
  }
  reject("scheme " + quoted(scheme) + " is not postgresql, postgres or postgresql+<driver>");
}

// libpq would cut a value at an embedded NUL, silently using another value.
std::string without_nul(std::string value, std::string_view part) {
  if (value.find('\0') != std::string::npos) reject(std::string(part) + " contains a percent-encoded NUL (%00)");
  return value;
}

std::uint16_t port_number(std::string_view text) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 1 || value > 65535) {
    reject("port " + quoted(text) + " is not 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

// Masks "user:<password>@" in one whitespace-free token (or one whole URL
// value). The password runs to the *last* '@' of the authority candidate:
// an unencoded '@' in a password must not leave its tail visible.
std::string mask_userinfo(std::string_view token) {
  std::string result;
  std::size_t copied = 0;
  std::size_t search_from = 0;
  while (true) {
    const auto separator = token.find("://", search_from);
    if (separator == std::string_view::npos) break;
    const auto start = separator + 3;
    const auto next_url = token.find("://", start);
    const auto region = token.substr(start, next_url == std::string_view::npos ? std::string_view::npos : next_url - start);
    search_from = next_url == std::string_view::npos ? token.size() : next_url;

    const auto colon = region.find(':');
    const auto at = region.rfind('@');
    if (colon == std::string_view::npos || at == std::string_view::npos || at < colon) continue;
    // The user part must look like one; "host:port/path@x" is not userinfo
    // when a '/' appears before the colon.
    if (region.substr(0, colon).find_first_of("/?#@") != std::string_view::npos) continue;

    const auto password_begin = start + colon + 1;
    const auto password_end = start + at;
    result.append(token.substr(copied, password_begin - copied));
    result.append(masked);
    copied = password_end;
  }
  result.append(token.substr(copied));
  return result;
}

// Masks `password=<value>` (conninfo keyword or query parameter, any case,
// spaces around '=' allowed). A quoted conninfo value runs to its closing
// quote; an unquoted one to whitespace or '&'.
std::string mask_password_keywords(std::string_view text) {
  constexpr std::string_view keyword = "password";
  std::string result;
  std::size_t copied = 0;
  std::size_t pos = 0;
  const std::string folded = lowercase(text);
  while ((pos = folded.find(keyword, pos)) != std::string::npos) {
    std::size_t cursor = pos + keyword.size();
    while (cursor < text.size() && is_space(text[cursor])) ++cursor;
    if (cursor >= text.size() || text[cursor] != '=') {
      pos += keyword.size();
      continue;
    }
    ++cursor;
    while (cursor < text.size() && is_space(text[cursor])) ++cursor;
    const auto value_begin = cursor;
    if (cursor < text.size() && text[cursor] == '\'') {
      ++cursor;
      while (cursor < text.size() && text[cursor] != '\'') cursor += text[cursor] == '\\' ? 2 : 1;
      cursor = std::min(cursor + 1, text.size());
    } else {
      while (cursor < text.size() && !is_space(text[cursor]) && text[cursor] != '&') ++cursor;
    }
    if (cursor > value_begin) {
      result.append(text.substr(copied, value_begin - copied));
      result.append(masked);
      copied = cursor;
    }
    pos = cursor;
  }
  result.append(text.substr(copied));
  return result;
}

}  // namespace

DatabaseUrl parse_database_url(std::string_view url) {
  if (url.empty()) reject("the URL is empty");

  // The scheme is checked before the full parse so that "mysql://..." is
  // told it has the wrong scheme rather than that it is malformed.
  const auto separator = url.find("://");
  if (separator == std::string_view::npos || !is_scheme(url.substr(0, separator))) {
    reject("it does not start with postgresql://");
  }
  DatabaseUrl result;
  result.ignored_driver = accepted_driver(url.substr(0, separator));

  const auto parsed = urls::parse_uri(url);
  if (!parsed) reject(std::string(malformed_reason));
  const urls::url_view& view = *parsed;

  if (view.has_fragment()) reject("it has a fragment (percent-encode # as %23 in a password)");
  if (view.host_type() == urls::host_type::ipvfuture) reject("IPvFuture host addresses are not supported");

  // An empty host is libpq's default: the local unix socket.
  result.host = without_nul(view.host_address(), "the host");
  if (view.has_port() && !view.port().empty()) result.port = port_number(view.port());
  result.user = without_nul(view.user(), "the user name");
  if (view.has_password()) result.password = without_nul(view.password(), "the password");

  const std::string_view path = view.encoded_path();
  if (!path.empty()) {
    // Boost accepts an unencoded '@' left over from the user info as a path.
    if (path.front() != '/') reject(std::string(malformed_reason));
    const auto segment = path.substr(1);
    if (segment.find('/') != std::string_view::npos) reject("the path must be /dbname (a single segment)");
    result.dbname = without_nul(urls::pct_string_view(segment).decode(), "the database name");
  }

  // '+' is not a space for libpq, so no form-style decoding.
  for (const auto& param : view.params(urls::encoding_opts(false))) {
    if (!is_keyword(param.key)) reject("query parameter " + quoted(param.key) + " is not a libpq keyword");
    if (!param.has_value) reject("query parameter " + quoted(param.key) + " has no value (expected " + param.key + "=value)");
    result.options[param.key] = without_nul(param.value, "query parameter \"" + param.key + "\"");
  }
  return result;
}

std::string DatabaseUrl::sanitized() const {
  urls::url out;
  out.set_scheme("postgresql");
  out.set_host_address(host);  // brackets an IPv6 address, encodes a socket path
  if (!user.empty() || !password.empty()) {
    out.set_user(user);
    if (!password.empty()) out.set_password(masked);
  }
  out.set_port_number(port);
  if (!dbname.empty()) out.set_encoded_path(std::string("/").append(urls::encode(dbname, urls::pchars)));
  for (const auto& [key, value] : options) {
    out.params().append({key, is_password_keyword(key) ? std::string(masked) : value});
  }
  return std::string(out.buffer());
}

std::string DatabaseUrl::conninfo() const {
  std::string text;
  const auto add = [&](std::string_view key, std::string_view value) {
    if (!text.empty()) text += ' ';
    text.append(key).append("=").append(quote_conninfo_value(value));
  };
  // Empty parts are left out so that libpq applies its own defaults.
  if (!host.empty()) add("host", host);
  add("port", std::to_string(port));
  if (!user.empty()) add("user", user);
  if (!password.empty()) add("password", password);
  if (!dbname.empty()) add("dbname", dbname);
  for (const auto& [key, value] : options) add(key, value);
  return text;
}

std::string quote_conninfo_value(std::string_view value) {
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\\' || c == '\'') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

std::string mask_url_password(std::string_view text) {
  // In free text a URL ends at whitespace.
  std::string result;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_space(text[pos])) {
      result += text[pos++];
      continue;
    }
    std::size_t end = pos;
    while (end < text.size() && !is_space(text[end])) ++end;
    result += mask_userinfo(text.substr(pos, end - pos));
    pos = end;
  }
  return mask_password_keywords(result);
}

std::string masked_url(std::string_view url) {
  return mask_password_keywords(mask_userinfo(url));
}

}  // namespace svc::config

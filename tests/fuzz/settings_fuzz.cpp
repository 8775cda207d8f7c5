// Settings and URLs (lib/config, lib/http/client_url.*): what an operator
// puts in the environment. The first byte picks what the rest is:
//   0: NAME=VALUE lines, read by Settings::from_env through map_env: either
//      settings or one ConfigError line, and no secret (API_KEYS, the
//      DATABASE_URL password) in that line or in --print-config's values;
//   1: a DATABASE_URL: parse_database_url, sanitized(), conninfo(), masking;
//   2: an upstream request URL (parse_target_url), which must round-trip;
//   3: ORIGIN_PROXY_URL (parse_proxy_url): no user info in its display form.

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/database_url.hpp"
#include "lib/config/env.hpp"
#include "lib/core/escape.hpp"
#include "lib/http/client.hpp"
#include "lib/http/client_url.hpp"
#include "lib/service/settings.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace svc;

// A secret is only checked when it is distinctive: long enough, nowhere
// else in the input (else the text around it may legitimately repeat it),
// and free of the quote, backslash and space the error lines wrap values in
// (else another variable's quoted value plus `" is not ` can spell it).
// The same holds for the input as the error lines render it: another
// value's control byte, escaped ("\u0000"), may end in the secret's first
// characters and spell it with the raw text after it.
bool distinctive(std::string_view secret, std::string_view input) {
  if (secret.size() < 8 || input.find(secret) != input.rfind(secret) ||
      secret.find_first_of("0123456789") == std::string_view::npos ||
      secret.find_first_of("\" \\ \t") != std::string_view::npos)
    return false;
  std::string rendered;  // only for a secret that passed the cheap checks
  core::append_escaped(rendered, input, core::Escape::quoted);
  return rendered.find(secret) == rendered.rfind(secret);
}

// The outputs show the other parts of a database URL, decoded (sanitized())
// or as written (the maskers). A password whose text one of them also spells
// (a URL nested in an option, a database named after it) is the user's, not
// a leak; so a password is checked only when `written` spells it once, as
// written, right before the '@' that ends it, and no other part holds it
// decoded.
bool checkable_password(const config::DatabaseUrl& url, std::string_view written, std::string_view input) {
  const auto holds = [&](std::string_view part) { return part.find(url.password) != std::string_view::npos; };
  bool elsewhere = holds(url.user) || holds(url.host) || holds(url.dbname);
  for (const auto& [key, value] : url.options)
    if (key != "password" && (holds(key) || holds(value))) elsewhere = true;
  const auto at = written.find(url.password);
  const bool as_written = at != std::string_view::npos && at + url.password.size() < written.size() &&
                          written[at + url.password.size()] == '@';
  return distinctive(url.password, input) && as_written && !elsewhere;
}

void check_no_secret(std::string_view text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) FUZZ_CHECK(text.find(s) == std::string_view::npos);
}

void settings(std::string_view input) {
  std::map<std::string, std::string> env;
  std::vector<std::string> secrets;
  std::size_t start = 0;
  while (start < input.size()) {
    auto end = input.find('\n', start);
    std::string_view line = input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? input.size() : end + 1;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  if (auto it = env.find("API_KEYS"); it != env.end()) {
    std::string_view keys = it->second;
    while (!keys.empty()) {
      auto comma = keys.find(',');
      auto key = config::trim(keys.substr(0, comma));
      // A key holding '@', ':' or '/' can be spelt by the DATABASE_URL the
      // settings show (user@host:port/db, the default port added): the
      // user's own text, not a leak.
      if (distinctive(key, input) && key.find_first_of("@:/") == std::string_view::npos) secrets.emplace_back(key);
      keys = comma == std::string_view::npos ? std::string_view{} : keys.substr(comma + 1);
    }
  }
  if (auto it = env.find("DATABASE_URL"); it != env.end()) {
    try {
      auto url = config::parse_database_url(it->second);
      if (checkable_password(url, it->second, input)) secrets.push_back(url.password);
    } catch (const std::invalid_argument&) {
    }
  }
  try {
    auto s = service::Settings::from_env(config::map_env(env));
    FUZZ_CHECK(s.threads > 0);
    FUZZ_CHECK(!s.api_keys.empty());
    for (const auto& e : s.effective) check_no_secret(e.value, secrets);
    for (const auto& note : s.notes) check_no_secret(note, secrets);
  } catch (const config::ConfigError& e) {
    std::string_view line = e.what();
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);  // one line, as main prints it
    FUZZ_CHECK(!e.variable().empty());
    check_no_secret(line, secrets);
  }
}

void database_url(std::string_view text) {
  config::DatabaseUrl url;
  try {
    url = config::parse_database_url(text);
  } catch (const std::invalid_argument& e) {
    return;
  }
  std::vector<std::string> secrets;
  if (checkable_password(url, text, text)) secrets.push_back(url.password);
  check_no_secret(url.sanitized(), secrets);
  check_no_secret(config::masked_url(text), secrets);
  check_no_secret(config::mask_url_password(text), secrets);
  (void)url.conninfo();
}

void target_url(std::string_view text) {
  http::TargetUrl url;
  try {
    url = http::parse_target_url(text);
  } catch (const http::ClientError& e) {
    FUZZ_CHECK(e.phase() == http::ClientPhase::url);
    return;
  }
  FUZZ_CHECK(url.port != 0 && !url.host.empty() && !url.authority.empty());
  FUZZ_CHECK(!url.target.empty() && url.target.front() == '/');
  auto again = http::parse_target_url(url.absolute());  // what a proxy is sent must mean the same
  FUZZ_CHECK(again.tls == url.tls && again.host == url.host && again.port == url.port);
  FUZZ_CHECK(again.target == url.target && again.authority == url.authority);
}

// The proxy's password (user:password@) never reaches its display form nor
// an error message.
void proxy_url(std::string_view text) {
  std::vector<std::string> secrets;
  auto scheme_end = text.find("://");
  auto at = text.rfind('@');
  if (scheme_end != std::string_view::npos && at != std::string_view::npos && at > scheme_end) {
    auto userinfo = text.substr(scheme_end + 3, at - scheme_end - 3);
    auto colon = userinfo.find(':');
    if (colon != std::string_view::npos && distinctive(userinfo.substr(colon + 1), text))
      secrets.emplace_back(userinfo.substr(colon + 1));
  }
  try {
    auto proxy = http::parse_proxy_url(text);
    FUZZ_CHECK(proxy.port != 0 && !proxy.host.empty());
    FUZZ_CHECK(proxy.display.find('@') == std::string::npos);  // no user info, and no '@' in a host
    check_no_secret(proxy.display, secrets);
  } catch (const std::invalid_argument& e) {
    check_no_secret(e.what(), secrets);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: settings(rest); break;
    case 1: database_url(rest); break;
    case 2: target_url(rest); break;
    case 3: proxy_url(rest); break;
  }
  return 0;
}

#pragma once
// A PostgreSQL URL: accepts postgresql://, postgres:// and SQLAlchemy-style
// postgresql+<driver>:// (the driver suffix is ignored and reported).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace svc::config {

struct DatabaseUrl {
  std::string host;            // "" = libpq default (unix socket)
  std::uint16_t port = 5432;
  std::string user;
  std::string password;        // never printed; see sanitized()
  std::string dbname;
  std::map<std::string, std::string> options;  // query parameters (sslmode, ...)
  std::string ignored_driver;  // "asyncpg" for postgresql+asyncpg://, else ""

  // postgresql://user:***@host:port/db?opts — what logs and /debug may show.
  std::string sanitized() const;
  // A libpq keyword/value conninfo string (values quoted as libpq requires).
  std::string conninfo() const;
};

// Throws std::invalid_argument with a message that says what is expected,
// never echoing the password.
DatabaseUrl parse_database_url(std::string_view url);

// A libpq conninfo value: single-quoted, with \ and ' backslash-escaped.
std::string quote_conninfo_value(std::string_view value);

// Replaces the password of any URL-looking text ("scheme://user:pass@") by
// "***"; for log lines that may quote a URL.
std::string mask_url_password(std::string_view text);

// The same for one value that is meant to be a single URL but may be
// malformed (e.g. an unencoded space or '@' in the password): everything
// between "user:" and the last '@' is masked, as is any `password=` option.
std::string masked_url(std::string_view url);

}  // namespace svc::config

#include "tests/support/pg_test_db.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>

#include <libpq-fe.h>
#include <pqxx/pqxx>

namespace testsupport {

long long migration_lock_key() {
  std::uint64_t hash = 14695981039346656037ull;
  for (char c : std::string_view("p2p-dashboard:migrations")) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return static_cast<long long>(hash);
}

namespace {

std::string quoted_conninfo_value(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string random_suffix() {
  std::random_device device;
  std::mt19937_64 engine((static_cast<std::uint64_t>(device()) << 32) ^ device());
  static constexpr char digits[] = "0123456789abcdef";
  std::uint64_t bits = engine();
  std::string text;
  for (int i = 0; i < 10; ++i, bits >>= 4) text.push_back(digits[bits & 0xf]);
  return text;
}

bool valid_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 30) return false;
  for (const char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> test_database_url() {
  const char* url = std::getenv("TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

std::string with_database(std::string_view url, std::string_view dbname) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // keyword/value conninfo: a later keyword overrides an earlier one.
    return std::string(url) + " dbname=" + quoted_conninfo_value(dbname);
  }
  const auto authority = scheme_end + 3;
  const auto path = url.find_first_of("/?#", authority);
  std::string out(url.substr(0, path == std::string_view::npos ? url.size() : path));
  out += "/";
  out += dbname;
  if (path == std::string_view::npos) return out;
  const auto rest = url.find_first_of("?#", path);
  if (rest != std::string_view::npos) out += url.substr(rest);
  return out;
}

std::string keyword_conninfo(std::string_view url_or_conninfo) {
  char* error = nullptr;
  const std::string text(url_or_conninfo);
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(text.c_str(), &error),
                                                                        &PQconninfoFree);
  if (!options) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    throw std::invalid_argument("not a libpq connection string: " + message);
  }
  std::string out;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (!out.empty()) out += ' ';
    out += o->keyword;
    out += '=';
    out += quoted_conninfo_value(o->val);
  }
  return out;
}

PgTestDatabase::PgTestDatabase(std::string_view prefix, std::string admin_url) : admin_url_(std::move(admin_url)) {
  if (!valid_prefix(prefix)) {
    throw std::invalid_argument("PgTestDatabase: prefix must be 1-30 of a-z, 0-9 and _: " + std::string(prefix));
  }
  name_ = std::string(prefix) + "_" + std::to_string(::getpid()) + "_" + random_suffix();
  pqxx::connection admin(admin_url_);
  pqxx::nontransaction tx(admin);  // CREATE DATABASE cannot run in a transaction block
  tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
  url_ = with_database(admin_url_, name_);
}

void PgTestDatabase::drop() {
  if (dropped_) return;
  pqxx::connection admin(admin_url_);
  pqxx::nontransaction tx(admin);
  // FORCE (PostgreSQL 13+) terminates sessions a failed test left behind.
  tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  dropped_ = true;
}

PgTestDatabase::~PgTestDatabase() {
  try {
    drop();
  } catch (const std::exception& e) {
    std::cerr << "PgTestDatabase: could not drop " << name_ << ": " << e.what() << '\n';
  }
}

}  // namespace testsupport

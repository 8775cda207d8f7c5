#pragma once
// A throwaway database per test, on the cluster scripts/test starts
// (TEST_DATABASE_URL), so tests that change schema or data can run in
// parallel without seeing each other. Created and dropped through libpqxx
// (blocking: test threads only, never an io_context thread). No Boost here.
//
//   auto url = testsupport::test_database_url();
//   if (!url) { MESSAGE("TEST_DATABASE_URL is not set: skipped"); return; }
//   testsupport::PgTestDatabase db("mig", *url);
//   ... db.url() / db.conninfo() ...
//   // dropped (WITH (FORCE)) when db goes out of scope

#include <optional>
#include <string>
#include <string_view>

namespace testsupport {

// TEST_DATABASE_URL, or nullopt when it is unset or empty.
std::optional<std::string> test_database_url();

// `url` with its database name replaced:
// postgresql://u:p@h:5432/p2p?sslmode=disable -> postgresql://u:p@h:5432/<dbname>?sslmode=disable
std::string with_database(std::string_view url, std::string_view dbname);

// A libpq URL or conninfo in keyword/value form ("host='127.0.0.1' port='5432' ..."),
// parsed by libpq itself; for APIs that append keywords to a conninfo.
// Throws std::invalid_argument (without echoing the password) if libpq cannot parse it.
std::string keyword_conninfo(std::string_view url_or_conninfo);

// The advisory lock key the service's migrator takes (lib/pg/migrations.cpp:
// FNV-1a 64 of "p2p-dashboard:migrations", as a signed bigint); advisory
// locks are per database.
long long migration_lock_key();

class PgTestDatabase {
 public:
  // Creates `<prefix>_<pid>_<random>` on the cluster of `admin_url` (a URL of
  // any database there, e.g. TEST_DATABASE_URL, whose user may CREATE DATABASE).
  // `prefix`: lower-case letters, digits and '_', at most 30 characters.
  // Throws (std::invalid_argument, pqxx errors) if it cannot.
  PgTestDatabase(std::string_view prefix, std::string admin_url);
  ~PgTestDatabase();  // drops the database, terminating its sessions; never throws
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& url() const noexcept { return url_; }            // URL of this database
  std::string conninfo() const { return keyword_conninfo(url_); }      // keyword/value form
  const std::string& admin_url() const noexcept { return admin_url_; }

  // Drops it now (idempotent); the destructor then does nothing.
  void drop();

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
  bool dropped_ = false;
};

}  // namespace testsupport

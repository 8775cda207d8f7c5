#include "tests/support/pgbouncer.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <libpq-fe.h>

#include "tests/support/service.hpp"

namespace testsupport {

namespace {

// The URL's keywords as libpq parses them (user, password, host, port, dbname).
std::map<std::string, std::string> url_parts(const std::string& url) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                        &PQconninfoFree);
  if (!options) {
    PQfreemem(error);
    throw std::runtime_error("PgBouncer: not a PostgreSQL URL");  // never echo it: it has a password
  }
  std::map<std::string, std::string> parts;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o)
    if (o->val != nullptr) parts[o->keyword] = o->val;
  return parts;
}

std::string program() {
  const char* override = std::getenv("PGBOUNCER");
  return override != nullptr && *override != '\0' ? override : "/usr/sbin/pgbouncer";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("PgBouncer: cannot write " + path);
}

}  // namespace

PgBouncer::PgBouncer(const std::string& upstream_url) {
  const auto up = url_parts(upstream_url);
  if (!std::filesystem::exists(program()))
    throw std::runtime_error("PgBouncer: " + program() + " not found: run scripts/deps (Debian package pgbouncer)");
  std::string pattern = "/tmp/e2e-pgb.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("PgBouncer: mkdtemp failed");
  dir_ = pattern;
  try {
    const bool root = ::geteuid() == 0;
    const passwd* postgres = root ? ::getpwnam("postgres") : nullptr;
    if (root && postgres == nullptr) throw std::runtime_error("PgBouncer: no `postgres` user to run as (it refuses root)");
    // userlist.txt holds the plain password: PgBouncer checks the client's
    // SCRAM against it and logs in to PostgreSQL with it.
    write_file(dir_ + "/userlist.txt", "\"" + up.at("user") + "\" \"" + up.at("password") + "\"\n");
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      write_file(dir_ + "/pgbouncer.ini",
                 "[databases]\n"
                 "* = host=" + up.at("host") + " port=" + up.at("port") + "\n"
                 "[pgbouncer]\n"
                 "listen_addr = 127.0.0.1\n"
                 "listen_port = " + std::to_string(port_) + "\n"
                 "unix_socket_dir =\n"
                 "auth_type = scram-sha-256\n"
                 "auth_file = " + dir_ + "/userlist.txt\n"
                 "pool_mode = transaction\n"
                 "max_client_conn = 1000\n"
                 "default_pool_size = 20\n"
                 "query_wait_timeout = 10\n"
                 "ignore_startup_parameters = extra_float_digits\n");
      if (root) {
        ::chown(dir_.c_str(), postgres->pw_uid, postgres->pw_gid);
        for (const char* file : {"/userlist.txt", "/pgbouncer.ini"})
          ::chown((dir_ + file).c_str(), postgres->pw_uid, postgres->pw_gid);
      }
      ::chmod(dir_.c_str(), 0700);
      std::vector<std::string> args;
      if (root) args = {"-u", "postgres"};
      args.push_back(dir_ + "/pgbouncer.ini");
      process_ = std::make_unique<ChildProcess>(program(), args, std::map<std::string, std::string>{});
      if (process_->wait_for_line("process up", 10s)) return;
      const std::string out = process_->output();
      process_.reset();
      // free_port() releases the port before PgBouncer binds it: retry a lost race.
      if (out.find("Address already in use") == std::string::npos || attempt >= 2)
        throw std::runtime_error("PgBouncer did not start:\n" + out);
    }
  } catch (...) {
    cleanup();
    throw;
  }
}

PgBouncer::~PgBouncer() { cleanup(); }

void PgBouncer::cleanup() noexcept {
  if (process_) {
    process_->signal(SIGTERM);  // immediate shutdown
    if (!process_->wait_exit(10s)) std::cerr << "PgBouncer: still running 10 s after SIGTERM; killed\n";
    process_.reset();
  }
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  dir_.clear();
}

std::string PgBouncer::url_for(const std::string& direct_url) const {
  const auto at = direct_url.rfind('@');
  const auto path = direct_url.find('/', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || path == std::string::npos)
    throw std::runtime_error("PgBouncer: expected postgresql://user:password@host:port/db");
  return direct_url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(port_) + direct_url.substr(path);
}

bool through_pgbouncer() {
  const char* flag = std::getenv("P2P_E2E_PGBOUNCER");
  return flag != nullptr && *flag != '\0' && std::string_view(flag) != "0";
}

PgBouncer& shared_pgbouncer() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  static PgBouncer bouncer(admin_database_url());
  return bouncer;
}

}  // namespace testsupport

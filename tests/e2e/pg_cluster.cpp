#include "tests/e2e/pg_cluster.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "tests/support/service.hpp"

namespace testsupport {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// scripts/pg's environment: PATH (added by ChildProcess) and PG_FAST, nothing of ours.
Env script_env() {
  Env env{{"PG_FAST", "1"}};
  if (const char* bin = std::getenv("PG_BIN")) env["PG_BIN"] = bin;
  return env;
}

}  // namespace

std::string pg_script() {
  const char* script = std::getenv("P2P_PG_SCRIPT");
  if (script == nullptr || *script == '\0') {
    throw std::runtime_error(
        "P2P_PG_SCRIPT is not set: the fault tests start private PostgreSQL clusters with scripts/pg. Run them "
        "through scripts/test, or export P2P_PG_SCRIPT=$PWD/scripts/pg");
  }
  return script;
}

PgCluster::PgCluster() {
  pg_script();  // fail early and clearly
  std::string pattern = "/tmp/e2e-pg.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  tmp_ = pattern;
  ::chmod(tmp_.c_str(), 0755);  // the postgres user must traverse it when we are root
  dir_ = tmp_ + "/pg";
  try {
    // free_port() releases the port before the server binds it: retry on a race.
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      try {
        run("start " + dir_ + " " + std::to_string(port_), std::chrono::seconds(90));
        break;
      } catch (const std::exception&) {
        if (attempt >= 2) throw;
      }
    }
    url_ = trim(run("url " + dir_, std::chrono::seconds(10)));
  } catch (...) {
    cleanup();  // the destructor will not run: remove what we made, then report
    throw;
  }
}

PgCluster::~PgCluster() { cleanup(); }

void PgCluster::cleanup() noexcept {
  if (tmp_.empty()) return;
  try {
    if (std::filesystem::exists(dir_ + "/data/PG_VERSION")) run("stop " + dir_, std::chrono::seconds(90));
  } catch (const std::exception& e) {
    std::cerr << "PgCluster: stop failed: " << e.what() << '\n';
  }
  std::error_code ec;
  std::filesystem::remove_all(tmp_, ec);
  if (ec) std::cerr << "PgCluster: could not remove " << tmp_ << ": " << ec.message() << '\n';
  tmp_.clear();
}

std::string PgCluster::run(const std::string& command, std::chrono::seconds timeout) {
  std::vector<std::string> args;
  for (std::size_t pos = 0; pos < command.size();) {
    auto end = command.find(' ', pos);
    if (end == std::string::npos) end = command.size();
    args.push_back(command.substr(pos, end - pos));
    pos = end + 1;
  }
  auto result = run_to_exit(pg_script(), args, script_env(), timeout);
  if (!result.exit_code || *result.exit_code != 0) {
    throw std::runtime_error("scripts/pg " + command + " failed (exit " +
                             (result.exit_code ? std::to_string(*result.exit_code) : std::string("timeout")) +
                             "):\n" + result.output);
  }
  return result.output;
}

std::unique_ptr<ChildProcess> PgCluster::spawn(const std::string& command) {
  return std::make_unique<ChildProcess>(pg_script(), std::vector<std::string>{command, dir_}, script_env());
}

void PgCluster::start() { run("start " + dir_, std::chrono::seconds(90)); }
void PgCluster::stop() { run("stop " + dir_, std::chrono::seconds(90)); }
void PgCluster::restart() { run("restart " + dir_, std::chrono::seconds(90)); }
std::unique_ptr<ChildProcess> PgCluster::start_async() { return spawn("start"); }
std::unique_ptr<ChildProcess> PgCluster::restart_async() { return spawn("restart"); }

std::string PgCluster::password() const { return url_password(url_); }

bool pg_accepts(const std::string& url) {
  try {
    pqxx::connection c(url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=2");
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<std::chrono::steady_clock::time_point> wait_pg_accepts(const std::string& url,
                                                                     std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pg_accepts(url)) return std::chrono::steady_clock::now();
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

long long app_backends(const std::string& url, const std::string& dbname) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  auto row = tx.exec_params1(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'p2p-dashboard' AND datname = $1", dbname);
  return row[0].as<long long>();
}

long long terminate_app_backends(const std::string& url, const std::string& dbname) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  auto r = tx.exec_params(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'p2p-dashboard' AND datname = $1",
      dbname);
  long long terminated = 0;
  for (const auto& row : r)
    if (row[0].as<bool>()) ++terminated;
  return terminated;
}

std::string url_database(const std::string& url) {
  auto scheme = url.find("://");
  auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return {};
  auto end = url.find_first_of("?#", path);
  return url.substr(path + 1, end == std::string::npos ? std::string::npos : end - path - 1);
}

std::string url_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  auto authority = scheme + 3;
  auto at = url.find('@', authority);
  if (at == std::string::npos) return {};
  auto colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at) return {};
  return url.substr(colon + 1, at - colon - 1);
}

}  // namespace testsupport

#pragma once
// A private PostgreSQL cluster for one e2e test that stops, starts or restarts
// it (fault tests), so no other test shares its fate. Driven through
// scripts/pg ($P2P_PG_SCRIPT, which scripts/test exports): initdb into a fresh
// /tmp directory, a free loopback port, PG_FAST=1. The destructor stops the
// cluster and deletes the directory, whether the test passed or not.
// libpqxx helpers are the independent client (never the code under test).
// No Boost here.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tests/support/child_process.hpp"

namespace testsupport {

// $P2P_PG_SCRIPT; throws std::runtime_error explaining how to set it if unset.
std::string pg_script();

class PgCluster {
 public:
  // initdb + start (PG_FAST=1) on a free port; throws with the script's output on failure.
  PgCluster();
  ~PgCluster();  // stop + remove the directory; never throws
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Each returns when scripts/pg does (start/restart wait until the server
  // accepts connections); throws with the script's output on failure.
  void start();
  void stop();
  void restart();
  // The same, without waiting: the caller observes the transition itself.
  std::unique_ptr<ChildProcess> start_async();
  std::unique_ptr<ChildProcess> restart_async();

  const std::string& dir() const noexcept { return dir_; }  // the cluster's DIR for scripts/pg
  const std::string& url() const noexcept { return url_; }  // postgresql://postgres:pw@127.0.0.1:port/p2p
  int port() const noexcept { return port_; }
  std::string password() const;

 private:
  std::string run(const std::string& command, std::chrono::seconds timeout);
  void cleanup() noexcept;
  std::unique_ptr<ChildProcess> spawn(const std::string& command);

  std::string tmp_;  // mkdtemp'd parent of dir_, removed at the end
  std::string dir_;
  std::string url_;
  int port_ = 0;
};

// True if a libpqxx connection to `url` succeeds now (and SELECT 1 answers).
bool pg_accepts(const std::string& url);

// Polls pg_accepts every 10 ms until it is true or `timeout` passes; returns
// the moment it first succeeded.
std::optional<std::chrono::steady_clock::time_point> wait_pg_accepts(const std::string& url,
                                                                     std::chrono::milliseconds timeout);

// Backends of p2p-dashboard (application_name = 'p2p-dashboard') connected to
// database `dbname`, counted through a libpqxx connection to `url` (any
// database of the same cluster). Throws pqxx errors if the cluster is down.
long long app_backends(const std::string& url, const std::string& dbname);

// pg_terminate_backend() on every p2p-dashboard backend of `dbname`; returns how many.
long long terminate_app_backends(const std::string& url, const std::string& dbname);

// The database name in a postgresql:// URL ("p2p" for .../p2p?x=y).
std::string url_database(const std::string& url);
// The password in a postgresql://user:password@host/... URL ("" if none).
std::string url_password(const std::string& url);

}  // namespace testsupport

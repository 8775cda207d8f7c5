#pragma once
// A real PgBouncer (Debian's package, /usr/sbin/pgbouncer or $PGBOUNCER) in
// transaction mode, in front of every database of one PostgreSQL cluster,
// for e2e tests that run the service through it as it runs on Kubernetes.
// Started on a free loopback port with a configuration in a fresh temp dir;
// as root it switches to the `postgres` user itself (-u), since it refuses to
// run as root. The destructor stops it (SIGTERM: immediate shutdown) and
// removes the directory. No Boost here.
//
// ApiFixture and the scale-out tests go through it when P2P_E2E_PGBOUNCER=1
// (ctest e2e-api-pgbouncer).

#include <memory>
#include <string>

#include "tests/support/child_process.hpp"

namespace testsupport {

class PgBouncer {
 public:
  // `upstream_url`: postgresql://user:password@host:port/db of the cluster;
  // its user and password are the only ones PgBouncer accepts (and uses).
  // Throws std::runtime_error with PgBouncer's output if it does not start.
  explicit PgBouncer(const std::string& upstream_url);
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  int port() const noexcept { return port_; }
  // `direct_url` (a database of the upstream cluster) through PgBouncer.
  std::string url_for(const std::string& direct_url) const;
  std::string output() const { return process_ ? process_->output() : std::string(); }

 private:
  void cleanup() noexcept;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// P2P_E2E_PGBOUNCER is set and not "0".
bool through_pgbouncer();
// This test process's PgBouncer in front of TEST_DATABASE_URL's cluster,
// started on first use and stopped at exit.
PgBouncer& shared_pgbouncer();

}  // namespace testsupport

#pragma once
// Runs the real p2p-dashboard binary for e2e tests on a free loopback port.
//
// RunningService starts the binary with a base environment (loopback host, a
// free port, APP_ENV=test, a real DATABASE_URL, an API key, short shutdown
// windows, debug logs) merged with per-test overrides, and waits for the
// "ready" log line under a deadline. The destructor SIGKILLs a child that is
// still running (through ChildProcess).
//
// The database: every test process that starts services gets a database of
// its own, e2e_<pid>_<random>, created on first use (CREATE DATABASE through
// libpqxx) on the cluster of TEST_DATABASE_URL (scripts/test starts one) and
// dropped WITH (FORCE) when the process exits. Tests that need a database
// nobody else touches (fresh schema, counting backends) create their own with
// testsupport::PgTestDatabase and pass it as the DATABASE_URL override.
// Without TEST_DATABASE_URL these helpers throw, so the test fails saying so.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace testsupport {

#ifdef P2P_BINARY
// The binary under test; e2e targets define P2P_BINARY as $<TARGET_FILE:p2p-dashboard>.
inline const char* p2p_binary() { return P2P_BINARY; }
#endif

using Env = std::map<std::string, std::string>;

// TEST_DATABASE_URL (a URL of a database on the test cluster whose user may
// CREATE DATABASE). Throws std::runtime_error explaining how to set it if it is
// unset or empty.
std::string admin_database_url();

// The URL of this test process's shared e2e database (created on the first
// call, dropped when doctest's run ends, or at exit). Throws like
// admin_database_url().
std::string shared_database_url();
// Drops it now (no-op if it was never created or is gone); never throws.
void drop_shared_database() noexcept;

// The base environment every e2e service starts with (PORT filled in by the
// caller); DATABASE_URL is shared_database_url().
Env base_service_env();
// `base` with every key of `overrides` replacing or adding to it; a value of
// kUnset removes the key.
inline constexpr const char* kUnset = "\x01unset";
Env merge_env(Env base, const Env& overrides);

class RunningService {
 public:
  // Starts `binary` on a free port and waits up to `ready_timeout` for "ready".
  // Throws std::runtime_error (with the captured output) if it never gets ready.
  // If overrides contain PORT, that port is used as is.
  RunningService(std::string binary, const Env& overrides = {},
                 std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));

  int port() const { return port_; }
  ChildProcess& process() { return *process_; }

  void signal(int signo) { process_->signal(signo); }
  // Once it has exited, also waits (at most 2 s) for its last lines to be read
  // from the pipe: a test reading output() right after must see the shutdown's.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto code = process_->wait_exit(timeout);
    if (code) process_->wait_output_closed(std::chrono::seconds(2));
    return code;
  }
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return process_->wait_for_line(needle, timeout);
  }
  // Everything the service printed, including earlier attempts that lost
  // the race for their port (each did its start-up work, migrations included).
  std::string output() const { return earlier_output_ + process_->output(); }

 private:
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  std::string earlier_output_;
};

// Runs `binary args...` with exactly `env` to completion (bounded by `timeout`):
// for command-line and configuration-error tests. exit_code is nullopt if the
// process was still running at the deadline (it is then killed).
struct ProcessResult {
  std::optional<int> exit_code;
  std::string output;  // stdout and stderr, interleaved
};
ProcessResult run_to_exit(const std::string& binary, const std::vector<std::string>& args, const Env& env,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A TCP listener on a free 127.0.0.1 port, held open for the object's lifetime
// (to make the service's bind fail with "address in use").
class PortHolder {
 public:
  PortHolder();
  ~PortHolder();
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  int port() const { return port_; }
  // Connections whose handshake completed and which wait to be accepted
  // (which they never are): every connect attempt so far, open or closed.
  int queued() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace testsupport

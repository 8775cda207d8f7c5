#pragma once
// Runs the real p2p-dashboard binary for e2e tests on a free loopback port.
//
// RunningService starts the binary with a base environment (loopback host, a
// free port, APP_ENV=test, an unreachable DATABASE_URL, an API key, short
// shutdown windows, debug logs) merged with per-test overrides, and waits for
// the "ready" log line under a deadline. The destructor SIGKILLs a child that
// is still running (through ChildProcess).

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

// The base environment every e2e service starts with (PORT filled in by the caller).
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
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) { return process_->wait_exit(timeout); }
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return process_->wait_for_line(needle, timeout);
  }
  std::string output() const { return process_->output(); }

 private:
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
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

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace testsupport

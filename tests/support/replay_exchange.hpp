#pragma once
// The bundled replay exchange (scripts/replay-exchange) and the loopback
// CONNECT proxy (scripts/connect-proxy) as child processes for e2e tests:
// started on a free port, stopped (SIGTERM) by the destructor, and driven
// through the replay's /_control endpoints. No Boost here.

#include <memory>
#include <string>

#include "tests/support/child_process.hpp"

namespace testsupport {

// scripts/test-ca output: a throwaway CA and a server certificate for
// localhost / 127.0.0.1 / ::1, created once per test process in a temp dir.
struct TestCa {
  std::string dir;
  std::string ca_file() const { return dir + "/ca.pem"; }
  std::string cert_file() const { return dir + "/server.pem"; }
  std::string key_file() const { return dir + "/server.key"; }
};
const TestCa& test_ca();

class ReplayExchange {
 public:
  enum class Scheme { http, https };
  explicit ReplayExchange(Scheme scheme = Scheme::http);
  ~ReplayExchange();

  int port() const { return port_; }
  // http://127.0.0.1:PORT or https://localhost:PORT (the name the test certificate carries).
  std::string base_url() const;

  // POST /_control/fault {"fault":..,"count":..,"path":..}; count 0 = until
  // reset(); the fault hits requests whose path starts with `path` ("" = all).
  void fault(const std::string& fault, int count = 0, const std::string& path = "");
  void reset();
  // GET /_control/stats as raw JSON text.
  std::string stats() const;
  std::string output() const { return process_->output(); }

 private:
  Scheme scheme_;
  int port_ = 0;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

class ConnectProxy {
 public:
  ConnectProxy();
  ~ConnectProxy();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string stats() const;  // GET /_proxy/stats as raw JSON text

 private:
  int port_ = 0;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace testsupport

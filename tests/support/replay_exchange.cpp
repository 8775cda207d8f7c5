#include "tests/support/replay_exchange.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/raw_http.hpp"

namespace testsupport {

namespace fs = std::filesystem;

namespace {

std::string script(const char* name) { return std::string(P2P_SOURCE_DIR) + "/scripts/" + name; }

std::string make_temp_dir(const char* prefix) {
  std::string pattern = (fs::temp_directory_path() / prefix).string() + ".XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

// Waits (bounded) for the child to write its port file; the file appears
// atomically (rename) once the socket listens.
int wait_port_file(const std::string& path, ChildProcess& child, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0) return port;
    if (!child.running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error(std::string(what) + " did not start; output:\n" + child.output());
}

std::string control(int port, std::string_view method, std::string_view target, std::string_view body = "") {
  auto r = http_request(port, method, target, "Content-Type: application/json\r\n", body);
  if (!r || r->status != 200) {
    throw std::runtime_error(std::string("replay control ") + std::string(target) + " failed" +
                             (r ? ": " + std::to_string(r->status) + " " + r->body : ""));
  }
  return r->body;
}

void stop_child(std::unique_ptr<ChildProcess>& child) {
  if (!child) return;
  child->signal(SIGTERM);
  if (!child->wait_exit(std::chrono::seconds(5))) child->signal(SIGKILL);
}

}  // namespace

const TestCa& test_ca() {
  // Made on first use, removed at exit (a function-local static's destructor).
  struct Owned {
    TestCa ca{make_temp_dir("p2p-test-ca")};
    Owned() {
      const std::string command = script("test-ca") + " '" + ca.dir + "'";
      if (std::system(command.c_str()) != 0) throw std::runtime_error("scripts/test-ca failed: " + command);
    }
    ~Owned() {
      std::error_code ignored;
      fs::remove_all(ca.dir, ignored);
    }
  };
  static const Owned owned;
  return owned.ca;
}

ReplayExchange::ReplayExchange(Scheme scheme) : scheme_(scheme), dir_(make_temp_dir("p2p-replay")) {
  const std::string port_file = dir_ + "/port";
  std::vector<std::string> args{"--port", "0", "--port-file", port_file, "--quiet"};
  if (scheme == Scheme::https) {
    const auto& ca = test_ca();
    args.insert(args.end(), {"--tls-cert", ca.cert_file(), "--tls-key", ca.key_file()});
  }
  process_ = std::make_unique<ChildProcess>(script("replay-exchange"), args, std::map<std::string, std::string>{});
  port_ = wait_port_file(port_file, *process_, "replay-exchange");
}

ReplayExchange::~ReplayExchange() {
  stop_child(process_);
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string ReplayExchange::base_url() const {
  return (scheme_ == Scheme::https ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

void ReplayExchange::fault(const std::string& fault, int count, const std::string& path) {
  if (scheme_ == Scheme::https) throw std::logic_error("fault control is plain-HTTP only; use an http replay");
  control(port_, "POST", "/_control/fault",
          "{\"fault\":\"" + fault + "\",\"count\":" + std::to_string(count) + ",\"path\":\"" + path + "\"}");
}

void ReplayExchange::reset() {
  if (scheme_ == Scheme::https) throw std::logic_error("fault control is plain-HTTP only; use an http replay");
  control(port_, "POST", "/_control/reset", "{}");
}

std::string ReplayExchange::stats() const {
  if (scheme_ == Scheme::https) throw std::logic_error("fault control is plain-HTTP only; use an http replay");
  return control(port_, "GET", "/_control/stats");
}

ConnectProxy::ConnectProxy() : dir_(make_temp_dir("p2p-proxy")) {
  const std::string port_file = dir_ + "/port";
  process_ = std::make_unique<ChildProcess>(script("connect-proxy"),
                                            std::vector<std::string>{"--port", "0", "--port-file", port_file},
                                            std::map<std::string, std::string>{});
  port_ = wait_port_file(port_file, *process_, "connect-proxy");
}

ConnectProxy::~ConnectProxy() {
  stop_child(process_);
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string ConnectProxy::stats() const { return control(port_, "GET", "/_proxy/stats"); }

}  // namespace testsupport

#include "tests/support/service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace testsupport {

Env base_service_env() {
  return {
      {"HOST", "127.0.0.1"},
      {"APP_ENV", "test"},
      // Not connected to in issue 2; port 1 on loopback refuses quickly if it ever is.
      {"DATABASE_URL", "postgresql://test:secret@127.0.0.1:1/none"},
      {"API_KEY", "e2e-test-key-0123456789"},
      {"SHUTDOWN_DRAIN_SECONDS", "0"},
      {"SHUTDOWN_GRACE_SECONDS", "5"},
      {"LOG_LEVEL", "debug"},
      {"THREADS", "2"},
  };
}

Env merge_env(Env base, const Env& overrides) {
  for (const auto& [key, value] : overrides) {
    if (value == kUnset)
      base.erase(key);
    else
      base[key] = value;
  }
  return base;
}

RunningService::RunningService(std::string binary, const Env& overrides, std::chrono::milliseconds ready_timeout) {
  const bool fixed_port = overrides.count("PORT") > 0;
  // free_port() releases the port before the child binds it; another process
  // may take it in between. Retry on "address in use" with a new port.
  for (int attempt = 0;; ++attempt) {
    Env env = base_service_env();
    port_ = fixed_port ? std::stoi(overrides.at("PORT")) : free_port();
    env["PORT"] = std::to_string(port_);
    env = merge_env(std::move(env), overrides);
    process_ = std::make_unique<ChildProcess>(binary, std::vector<std::string>{}, env);
    // The line that says exactly "ready", in the text or the JSON log format.
    const bool json = env.count("LOG_FORMAT") && env.at("LOG_FORMAT") == "json";
    if (process_->wait_for_line(json ? "\"message\":\"ready\"}" : " ready\n", ready_timeout)) return;

    std::string out = process_->output();
    bool port_taken = out.find("already in use") != std::string::npos;
    if (port_taken && !fixed_port && attempt < 3) continue;
    throw std::runtime_error("p2p-dashboard did not become ready within " + std::to_string(ready_timeout.count()) +
                             " ms; output:\n" + out);
  }
}

ProcessResult run_to_exit(const std::string& binary, const std::vector<std::string>& args, const Env& env,
                          std::chrono::milliseconds timeout) {
  ChildProcess child(binary, args, env);
  ProcessResult result;
  result.exit_code = child.wait_exit(timeout);
  // The reader thread may still be draining the pipe; EOF follows exit promptly.
  if (result.exit_code) child.wait_output_closed(std::chrono::seconds(2));
  result.output = child.output();
  return result;
}

PortHolder::PortHolder() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("PortHolder: cannot listen on a free loopback port");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

PortHolder::~PortHolder() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace testsupport

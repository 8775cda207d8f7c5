#include "tests/support/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <doctest/doctest.h>

namespace testsupport {

namespace {

// What a sanitized child needs to report the way this process does.
constexpr const char* kSanitizerVariables[] = {"ASAN_OPTIONS",  "UBSAN_OPTIONS",        "LSAN_OPTIONS",
                                               "TSAN_OPTIONS",  "ASAN_SYMBOLIZER_PATH", "TSAN_SYMBOLIZER_PATH"};

// The log_path prefixes of the sanitizer settings in this environment.
std::vector<std::string> report_prefixes() {
  std::vector<std::string> out;
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"}) {
    const char* options = std::getenv(name);
    if (options == nullptr) continue;
    std::string_view rest(options);
    // "a=1:log_path=/x/asan:b=2" (':' or ' ' separated)
    for (auto pos = rest.find("log_path="); pos != std::string_view::npos; pos = rest.find("log_path=", pos + 1)) {
      if (pos > 0 && rest[pos - 1] != ':' && rest[pos - 1] != ' ') continue;
      auto value = rest.substr(pos + 9);
      value = value.substr(0, value.find_first_of(": "));
      if (!value.empty() && value != "stderr" && value != "stdout") out.emplace_back(value);
    }
  }
  return out;
}

}  // namespace

ChildProcess::ChildProcess(std::string program, std::vector<std::string> args,
                           std::map<std::string, std::string> env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (!env.count("PATH")) env["PATH"] = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  for (const char* name : kSanitizerVariables)
    if (const char* value = std::getenv(name); value != nullptr && !env.count(name)) env[name] = value;

  std::vector<std::string> argv_storage{program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (auto& [k, v] : env) env_storage.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] { reader_loop(fd); });
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::reader_loop(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mutex_);
    output_.append(buf, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
  close(fd);
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

void ChildProcess::signal(int signo) { ::kill(pid_, signo); }

bool ChildProcess::running() {
  if (exit_code_) return false;
  return !wait_exit(0ms).has_value();
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  // A pidfd becomes readable when the child exits: a wait with a deadline, no polling.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    ::close(pidfd);
    if (ready == 0) return std::nullopt;
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, pidfd >= 0 ? 0 : WNOHANG);
  if (r != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  check_sanitizer_reports();
  return exit_code_;
}

void ChildProcess::check_sanitizer_reports() {
  for (const auto& prefix : report_prefixes()) {
    std::ifstream in(prefix + "." + std::to_string(pid_));
    if (!in) continue;
    std::ostringstream report;
    report << in.rdbuf();
    if (report.str().empty()) continue;
    std::string what = "sanitizer report from child " + std::to_string(pid_) + " (" + prefix + "." +
                       std::to_string(pid_) + "):\n" + report.str();
    if (doctest::is_running_in_test) {
      FAIL_CHECK(what);
    } else {
      std::fprintf(stderr, "%s\n", what.c_str());  // scripts/test fails the run for it
    }
  }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::size_t pos = std::string::npos;
  changed_.wait_for(lock, timeout, [&] {
    pos = output_.find(needle);
    return pos != std::string::npos || eof_;
  });
  if (pos == std::string::npos) pos = output_.find(needle);
  if (pos == std::string::npos) return std::nullopt;
  auto begin = output_.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  auto end = output_.find('\n', pos);
  return output_.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

bool ChildProcess::wait_output_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return eof_; });
}

std::string ChildProcess::output() const {
  std::lock_guard lock(mutex_);
  return output_;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace testsupport

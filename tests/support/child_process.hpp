#pragma once
// Runs the real binary for e2e tests: environment in, combined stdout+stderr
// captured line by line, signals, bounded waits. Every wait has a deadline;
// the destructor kills a child that is still running.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

using namespace std::chrono_literals;

class ChildProcess {
 public:
  // Starts `program args...` with exactly `env` as its environment, plus PATH
  // and the sanitizers' settings of this process (ASAN_OPTIONS, ...).
  //
  // Sanitizer builds (scripts/test) set log_path in those settings, so a
  // child's report lands in <log_path>.<pid>: when the child has exited, a
  // report of its own fails the running test (doctest ADD_FAIL_CHECK, with
  // the report), and scripts/test fails the run for any report left.
  ChildProcess(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  void signal(int signo);
  // The exit code (128 + signal if killed by one); nullopt if still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Waits until a line containing `needle` was printed; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
  // Waits until the child's stdout/stderr reached EOF (all output captured).
  bool wait_output_closed(std::chrono::milliseconds timeout);
  std::string output() const;  // everything printed so far
  bool running();

 private:
  void reader_loop(int fd);
  void check_sanitizer_reports();

  int pid_ = -1;
  std::optional<int> exit_code_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  bool eof_ = false;
  std::thread reader_;
};

// A free TCP port on 127.0.0.1 at the time of the call.
int free_port();

}  // namespace testsupport

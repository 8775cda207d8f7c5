#include "tests/support/service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <mutex>
#include <stdexcept>

#include <doctest/doctest.h>

#include "tests/support/pg_test_db.hpp"

namespace testsupport {

std::string admin_database_url() {
  auto url = test_database_url();
  if (!url) {
    throw std::runtime_error(
        "TEST_DATABASE_URL is not set: the e2e tests run p2p-dashboard against a real PostgreSQL. "
        "Run them through scripts/test (it starts a throwaway cluster and sets TEST_DATABASE_URL), or start one "
        "yourself: scripts/pg start DIR PORT; export TEST_DATABASE_URL=$(scripts/pg url DIR) "
        "P2P_PG_SCRIPT=$PWD/scripts/pg");
  }
  return *url;
}

namespace {
std::mutex shared_database_mutex;
PgTestDatabase* shared_database = nullptr;  // the static in shared_database_url(), once created
}  // namespace

std::string shared_database_url() {
  std::lock_guard lock(shared_database_mutex);
  // Constructed in place (not assigned into an earlier static): its destructor
  // is registered after the constructor's connection initialised libpq's
  // OpenSSL, so at exit it runs before OpenSSL's own atexit cleanup (the other
  // order crashes in PQconnectdb). Normally the database is already gone by
  // then: the listener below drops it when the test run ends.
  static PgTestDatabase database("e2e", admin_database_url());
  shared_database = &database;
  return database.url();
}

void drop_shared_database() noexcept {
  std::lock_guard lock(shared_database_mutex);
  if (shared_database == nullptr) return;
  try {
    shared_database->drop();
  } catch (const std::exception& e) {
    std::cerr << "e2e: could not drop " << shared_database->name() << ": " << e.what() << '\n';
  }
}

namespace {

// Drops the shared e2e database when doctest's run ends (before main returns).
struct DropSharedDatabase final : doctest::IReporter {
  explicit DropSharedDatabase(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override { drop_shared_database(); }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("e2e-shared-database", 1, DropSharedDatabase);

}  // namespace

Env base_service_env() {
  return {
      {"HOST", "127.0.0.1"},
      {"APP_ENV", "test"},
      {"DATABASE_URL", shared_database_url()},
      {"API_KEY", "e2e-test-key-0123456789"},
      {"SHUTDOWN_DRAIN_SECONDS", "0"},
      {"SHUTDOWN_GRACE_SECONDS", "5"},
      {"LOG_LEVEL", "debug"},
      {"THREADS", "2"},
      // No e2e service reaches a real exchange; the Bybit payment catalogue,
      // fetched in the background from start-up on, is off unless a test
      // points the service at the replay exchange and turns it on.
      {"BINANCE_BASE_URL", "http://127.0.0.1:1"},
      {"BYBIT_BASE_URL", "http://127.0.0.1:1"},
      {"BYBIT_PAYMENT_CATALOGUE_SECONDS", "0"},
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
    if (port_taken && !fixed_port && attempt < 3) {
      earlier_output_.append(out).append("(port ").append(std::to_string(port_)).append(" was taken; started again)\n");
      continue;
    }
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

int PortHolder::queued() const {
  // On a listening socket Linux reports the accept queue's length in tcpi_unacked.
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
    throw std::runtime_error("PortHolder: getsockopt(TCP_INFO) failed");
  return static_cast<int>(info.tcpi_unacked);
}

PortHolder::~PortHolder() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace testsupport

// e2e: the binary's command line and configuration errors. These processes
// never listen; they must exit on their own, quickly, with the right code.

#include <doctest/doctest.h>

#include <string>

#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

// The line of `text` that contains `part`, or "".
std::string line_with(const std::string& text, std::string_view part) {
  auto pos = text.find(part);
  if (pos == std::string::npos) return {};
  auto begin = text.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  auto end = text.find('\n', pos);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The e2e base environment with a fixed PORT (nothing listens in these tests) and `overrides`.
Env env_with(const Env& overrides) {
  return merge_env(merge_env(base_service_env(), {{"PORT", "8080"}}), overrides);
}

const char* const kAllVariables[] = {
    "HOST", "PORT", "THREADS", "APP_ENV", "DATABASE_URL", "API_KEY", "LOG_LEVEL", "LOG_FORMAT",
    "SHUTDOWN_DRAIN_SECONDS", "SHUTDOWN_GRACE_SECONDS", "MAX_HEADER_BYTES", "MAX_BODY_BYTES",
    "HEADER_TIMEOUT_SECONDS", "IDLE_TIMEOUT_SECONDS", "MAX_CONNECTIONS", "API_KEYS", "DB_POOL_SIZE", "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT", "DB_PRE_PING", "DB_POOL_RECYCLE", "DB_CONNECT_TIMEOUT", "DB_STATEMENT_TIMEOUT",
    "DB_PREPARED_STATEMENTS", "DB_FAIL_FAST", "DB_RECONNECT_BACKOFF_MAX",
};

}  // namespace

TEST_CASE("PORT=abc: exit 2 with one line naming the variable, the value and what is expected") {
  auto result = run_to_exit(p2p_binary(), {}, env_with({{"PORT", "abc"}}));
  INFO("output:\n", result.output);
  REQUIRE(result.exit_code);
  CHECK(*result.exit_code == 2);
  CHECK(contains(result.output, R"(config error: PORT="abc" is not a port (1-65535))"));
  CHECK_FALSE(contains(result.output, "listening"));
}

TEST_CASE("out-of-range numbers are config errors too") {
  for (auto [name, value] : {std::pair{"PORT", "70000"}, std::pair{"MAX_HEADER_BYTES", "12"},
                             std::pair{"HEADER_TIMEOUT_SECONDS", "soon"}, std::pair{"APP_ENV", "staging"}}) {
    std::string variable = name;
    CAPTURE(variable);
    auto result = run_to_exit(p2p_binary(), {}, env_with({{name, value}}));
    INFO("output:\n", result.output);
    REQUIRE(result.exit_code);
    CHECK(*result.exit_code == 2);
    CHECK(contains(line_with(result.output, "config error:"), std::string(name) + "=\"" + value + "\""));
  }
}

TEST_CASE("missing DATABASE_URL: exit 2 with the line naming DATABASE_URL") {
  auto result = run_to_exit(p2p_binary(), {}, env_with({{"DATABASE_URL", kUnset}}));
  INFO("output:\n", result.output);
  REQUIRE(result.exit_code);
  CHECK(*result.exit_code == 2);
  CHECK(contains(line_with(result.output, "config error:"), "DATABASE_URL"));
}

TEST_CASE("an invalid DATABASE_URL with a password never prints the password") {
  for (std::string url : {"postgresql://alice:hunter2-sekrit@db.example:notaport/app",
                          "postgresql://alice:hunter2-sekrit@db.example:99999/app", "mysql://alice:hunter2-sekrit@db/app",
                          "postgresql://alice:hunter2@sekrit@db/app", "postgresql://alice:hunter2#sekrit@db/app",
                          "postgresql://alice:hunter2%zzsekrit@db/app"}) {
    CAPTURE(url);
    auto result = run_to_exit(p2p_binary(), {}, env_with({{"DATABASE_URL", url}}));
    INFO("output:\n", result.output);
    REQUIRE(result.exit_code);
    CHECK(*result.exit_code == 2);
    CHECK(contains(line_with(result.output, "config error:"), "DATABASE_URL"));
    CHECK_FALSE(contains(result.output, "hunter2"));
    CHECK_FALSE(contains(result.output, "sekrit"));
  }
}

TEST_CASE("--help exits 0 and lists every variable and the migrate command") {
  auto result = run_to_exit(p2p_binary(), {"--help"}, {});
  INFO("output:\n", result.output);
  REQUIRE(result.exit_code);
  CHECK(*result.exit_code == 0);
  for (std::string name : kAllVariables) {
    CAPTURE(name);
    CHECK(contains(result.output, name));
  }
  CHECK(contains(line_with(result.output, "Usage:"), "migrate [--status]"));
}

TEST_CASE("--print-config exits 0 and masks the DATABASE_URL password and the API key") {
  auto result = run_to_exit(p2p_binary(), {"--print-config"},
                            env_with({{"DATABASE_URL", "postgresql://alice:hunter2-sekrit@db.example:5432/app"},
                                      {"API_KEY", "e2e-api-key-must-not-leak-42"}}));
  INFO("output:\n", result.output);
  REQUIRE(result.exit_code);
  CHECK(*result.exit_code == 0);
  auto db_line = line_with(result.output, "DATABASE_URL");
  CHECK(contains(db_line, "***"));
  CHECK(contains(db_line, "alice"));
  CHECK(contains(db_line, "db.example"));
  CHECK_FALSE(contains(result.output, "hunter2"));
  CHECK_FALSE(contains(result.output, "must-not-leak"));
  CHECK(contains(result.output, "PORT"));
  CHECK(contains(result.output, "8080"));
}

TEST_CASE("an unknown argument is a usage error (exit 2)") {
  auto result = run_to_exit(p2p_binary(), {"--frobnicate"}, env_with({}));
  INFO("output:\n", result.output);
  REQUIRE(result.exit_code);
  CHECK(*result.exit_code == 2);
  CHECK(contains(result.output, "--frobnicate"));
}

TEST_CASE("migrate with an unknown option is a usage error (exit 2) and touches no database") {
  for (std::vector<std::string> args : {std::vector<std::string>{"migrate", "--frobnicate"},
                                        std::vector<std::string>{"migrate", "--status", "extra"}}) {
    CAPTURE(args.back());
    // An unreachable database: a usage error must not even try to connect.
    auto result = run_to_exit(p2p_binary(), args,
                              env_with({{"DATABASE_URL", "postgresql://u:p@127.0.0.1:" + std::to_string(free_port()) + "/x"}}));
    INFO("output:\n", result.output);
    REQUIRE(result.exit_code);
    CHECK(*result.exit_code == 2);
    CHECK(contains(result.output, "usage error"));
    CHECK_FALSE(contains(result.output, "migrate failed"));
  }
}

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/app_settings.hpp"
#include "app/cli.hpp"
#include "lib/config/help.hpp"
#include "lib/service/settings.hpp"

using namespace std::chrono_literals;
using svc::config::AppEnv;
using svc::config::ConfigError;
using svc::config::EnvReader;
using svc::telemetry::LogFormat;
using svc::config::map_env;
using svc::service::Settings;
using svc::config::Variable;

namespace {

using Env = std::map<std::string, std::string>;

constexpr const char* database_url = "postgresql://app:db-password-123@db:5432/offers";
constexpr const char* api_key = "0123456789abcdef-key";

// The smallest valid environment, plus overrides.
Env minimal(Env overrides = {}) {
  Env env{{"DATABASE_URL", database_url}, {"API_KEY", api_key}};
  for (auto& [name, value] : overrides) env[name] = value;
  return env;
}

Settings load(const Env& env) { return Settings::from_env(map_env(env)); }

// The error line from_env gives, or "" when the environment is accepted.
std::string error_for(const Env& env) {
  try {
    load(env);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

std::string config_text(const Settings& settings) {
  std::ostringstream out;
  svc::config::print_config(out, settings.effective);
  return out.str();
}

std::string help_text() {
  std::ostringstream out;
  p2p::print_help(out, "p2p-dashboard");
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

unsigned expected_default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

const Variable test_variable{"FLAG", "false", "a test flag"};
const Variable secret_variable{"TOKEN", "", "a test secret", true, "a token"};

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("defaults apply when only the required variables are set") {
    const auto settings = load(minimal());
    CHECK(settings.app_env == AppEnv::prod);
    CHECK(settings.http.host == "0.0.0.0");
    CHECK(settings.http.port == 8080);
    CHECK(settings.threads == expected_default_threads());
    CHECK(settings.database.host == "db");
    CHECK(settings.database.password == "db-password-123");
    CHECK(settings.api_keys == std::vector<std::string>{api_key});
    CHECK(settings.log_level == "info");
    CHECK(settings.log_format == LogFormat::text);
    CHECK(settings.shutdown.drain == 5s);
    CHECK(settings.shutdown.grace == 20s);
    CHECK(settings.http.max_header_bytes == 16384);
    CHECK(settings.http.max_body_bytes == 1048576);
    CHECK(settings.http.header_timeout == 10s);
    CHECK(settings.http.idle_timeout == 75s);
    CHECK(settings.notes.empty());
  }

  TEST_CASE("every variable parses a valid value") {
    const auto settings = load(minimal({{"APP_ENV", "dev"},
                                        {"HOST", "127.0.0.1"},
                                        {"PORT", "9090"},
                                        {"THREADS", "3"},
                                        {"LOG_LEVEL", "debug"},
                                        {"LOG_FORMAT", "json"},
                                        {"SHUTDOWN_DRAIN_SECONDS", "0.5"},
                                        {"SHUTDOWN_GRACE_SECONDS", "30"},
                                        {"MAX_HEADER_BYTES", "8192"},
                                        {"MAX_BODY_BYTES", "0"},
                                        {"HEADER_TIMEOUT_SECONDS", "0.1"},
                                        {"IDLE_TIMEOUT_SECONDS", "86400"},
                                        {"MAX_CONNECTIONS", "500"},
                                        {"API_KEYS", "second-key-0123456"}}));
    CHECK(settings.app_env == AppEnv::dev);
    CHECK(settings.http.host == "127.0.0.1");
    CHECK(settings.http.port == 9090);
    CHECK(settings.threads == 3);
    CHECK(settings.log_level == "debug");
    CHECK(settings.log_format == LogFormat::json);
    CHECK(settings.shutdown.drain == 500ms);
    CHECK(settings.shutdown.grace == 30s);
    CHECK(settings.http.max_header_bytes == 8192);
    CHECK(settings.http.max_body_bytes == 0);
    CHECK(settings.http.header_timeout == 100ms);
    CHECK(settings.http.idle_timeout == 86400s);
    CHECK(settings.http.max_connections == 500);
    CHECK(settings.api_keys == std::vector<std::string>{api_key, "second-key-0123456"});
  }

  TEST_CASE("range edges are accepted") {
    auto settings = load(minimal({{"PORT", "1"},
                                  {"THREADS", "256"},
                                  {"SHUTDOWN_DRAIN_SECONDS", "0"},
                                  {"SHUTDOWN_GRACE_SECONDS", "3600"},
                                  {"MAX_HEADER_BYTES", "1024"},
                                  {"MAX_BODY_BYTES", "1073741824"},
                                  {"HEADER_TIMEOUT_SECONDS", "3600"},
                                  {"IDLE_TIMEOUT_SECONDS", "0.1"},
                                  {"MAX_CONNECTIONS", "1"}}));
    CHECK(settings.http.port == 1);
    CHECK(settings.threads == 256);
    CHECK(settings.shutdown.drain == 0ms);
    CHECK(settings.shutdown.grace == 3600s);
    CHECK(settings.http.max_header_bytes == 1024);
    CHECK(settings.http.max_body_bytes == 1073741824);
    CHECK(settings.http.header_timeout == 3600s);
    CHECK(settings.http.idle_timeout == 100ms);
    CHECK(settings.http.max_connections == 1);

    settings = load(minimal({{"PORT", "65535"}, {"MAX_HEADER_BYTES", "1048576"}, {"MAX_CONNECTIONS", "1000000"}}));
    CHECK(settings.http.port == 65535);
    CHECK(settings.http.max_header_bytes == 1048576);
    CHECK(settings.http.max_connections == 1000000);
  }

  TEST_CASE("every app env, log level and log format is accepted, in any case") {
    CHECK(load(minimal({{"APP_ENV", "prod"}})).app_env == AppEnv::prod);
    CHECK(load(minimal({{"APP_ENV", "test"}})).app_env == AppEnv::test);
    CHECK(load(minimal({{"APP_ENV", "DEV"}})).app_env == AppEnv::dev);
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
      CHECK(load(minimal({{"LOG_LEVEL", level}})).log_level == level);
    }
    CHECK(load(minimal({{"LOG_LEVEL", "WARN"}})).log_level == "warn");
    CHECK(load(minimal({{"LOG_FORMAT", "Text"}})).log_format == LogFormat::text);
  }

  TEST_CASE("numbers: a leading '+' and scientific seconds are fine") {
    const auto settings = load(minimal({{"PORT", "+8081"}, {"SHUTDOWN_GRACE_SECONDS", "1.5e1"}}));
    CHECK(settings.http.port == 8081);
    CHECK(settings.shutdown.grace == 15s);
  }

  TEST_CASE("THREADS=0 means hardware concurrency") {
    CHECK(load(minimal({{"THREADS", "0"}})).threads == expected_default_threads());
  }

  TEST_CASE("an empty value counts as unset") {
    const auto settings = load(minimal({{"APP_ENV", ""},
                                        {"HOST", ""},
                                        {"PORT", ""},
                                        {"THREADS", ""},
                                        {"API_KEYS", ""},
                                        {"LOG_LEVEL", ""},
                                        {"LOG_FORMAT", ""},
                                        {"SHUTDOWN_DRAIN_SECONDS", ""},
                                        {"SHUTDOWN_GRACE_SECONDS", ""},
                                        {"MAX_HEADER_BYTES", ""},
                                        {"MAX_BODY_BYTES", ""},
                                        {"HEADER_TIMEOUT_SECONDS", ""},
                                        {"IDLE_TIMEOUT_SECONDS", ""},
                                        {"MAX_CONNECTIONS", ""}}));
    CHECK(settings.app_env == AppEnv::prod);
    CHECK(settings.http.host == "0.0.0.0");
    CHECK(settings.http.port == 8080);
    CHECK(settings.log_level == "info");
    CHECK(settings.shutdown.drain == 5s);
    CHECK(settings.http.idle_timeout == 75s);
    CHECK(settings.http.max_connections == 10000);
    CHECK(settings.api_keys.size() == 1);

    CHECK(error_for(minimal({{"DATABASE_URL", ""}})) ==
          "DATABASE_URL is not set (expected postgresql://user:password@host:port/dbname)");
    CHECK(error_for(minimal({{"API_KEY", ""}})) == "API_KEY is not set (set API_KEY or API_KEYS)");
  }

  TEST_CASE("error lines for APP_ENV, PORT and THREADS") {
    CHECK(error_for(minimal({{"APP_ENV", "staging"}})) == "APP_ENV=\"staging\" is not one of prod|dev|test");
    CHECK(error_for(minimal({{"PORT", "abc"}})) == "PORT=\"abc\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "0"}})) == "PORT=\"0\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "65536"}})) == "PORT=\"65536\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "-80"}})) == "PORT=\"-80\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "80x"}})) == "PORT=\"80x\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", " 80"}})) == "PORT=\" 80\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "8080.0"}})) == "PORT=\"8080.0\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "+"}})) == "PORT=\"+\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"PORT", "+-1"}})) == "PORT=\"+-1\" is not a port (1-65535)");
    CHECK(error_for(minimal({{"THREADS", "x"}})) == "THREADS=\"x\" is not an integer (0-256)");
    CHECK(error_for(minimal({{"THREADS", "257"}})) == "THREADS=\"257\" is not an integer (0-256)");
    CHECK(error_for(minimal({{"THREADS", "-1"}})) == "THREADS=\"-1\" is not an integer (0-256)");
    CHECK(error_for(minimal({{"THREADS", "99999999999999999999999"}})) ==
          "THREADS=\"99999999999999999999999\" is not an integer (0-256)");
  }

  TEST_CASE("error lines for DATABASE_URL never show its password") {
    CHECK(error_for(Env{{"API_KEY", api_key}}) ==
          "DATABASE_URL is not set (expected postgresql://user:password@host:port/dbname)");
    CHECK(error_for(minimal({{"DATABASE_URL", "mysql://app:hunter2@db/offers"}})) ==
          "DATABASE_URL=\"mysql://app:***@db/offers\" is not a PostgreSQL URL "
          "(expected postgresql://user:password@host:port/dbname): "
          "scheme \"mysql\" is not postgresql, postgres or postgresql+<driver>");
    CHECK(error_for(minimal({{"DATABASE_URL", "postgresql://app:hun@ter2@db/offers"}})) ==
          "DATABASE_URL=\"postgresql://app:***@db/offers\" is not a PostgreSQL URL "
          "(expected postgresql://user:password@host:port/dbname): "
          "malformed URL (percent-encode special characters in the user name and password, e.g. @ as %40)");
    CHECK(error_for(minimal({{"DATABASE_URL", "postgresql://app:hun ter2@db:0/offers"}})) ==
          "DATABASE_URL=\"postgresql://app:***@db:0/offers\" is not a PostgreSQL URL "
          "(expected postgresql://user:password@host:port/dbname): "
          "malformed URL (percent-encode special characters in the user name and password, e.g. @ as %40)");
    CHECK(error_for(minimal({{"DATABASE_URL", "postgresql://app:hunter2@db:0/offers"}})) ==
          "DATABASE_URL=\"postgresql://app:***@db:0/offers\" is not a PostgreSQL URL "
          "(expected postgresql://user:password@host:port/dbname): port \"0\" is not 1-65535");
    CHECK(error_for(minimal({{"DATABASE_URL", "host=db password=hunter2"}})) ==
          "DATABASE_URL=\"host=db password=***\" is not a PostgreSQL URL "
          "(expected postgresql://user:password@host:port/dbname): it does not start with postgresql://");
  }

  TEST_CASE("a driver suffix is noted, not fatal") {
    const auto settings = load(minimal({{"DATABASE_URL", "postgresql+asyncpg://app:pw@db/offers"}}));
    CHECK(settings.database.ignored_driver == "asyncpg");
    CHECK(settings.notes == std::vector<std::string>{"DATABASE_URL: driver suffix \"+asyncpg\" ignored; using libpq"});
  }

  TEST_CASE("API_KEY and API_KEYS are merged, in order, without duplicates") {
    const auto settings = load(minimal({{"API_KEYS", " next-key-0123456789 , ,0123456789abcdef-key,third-key-0123456789,"}}));
    CHECK(settings.api_keys ==
          std::vector<std::string>{api_key, "next-key-0123456789", "third-key-0123456789"});

    const auto only_list = load(Env{{"DATABASE_URL", database_url}, {"API_KEYS", "a-key-0123456789ab,b-key-0123456789ab"}});
    CHECK(only_list.api_keys == std::vector<std::string>{"a-key-0123456789ab", "b-key-0123456789ab"});

    CHECK(load(minimal({{"API_KEY", " 0123456789abcdef-key\n"}})).api_keys == std::vector<std::string>{api_key});
  }

  TEST_CASE("error lines for API keys") {
    CHECK(error_for(Env{{"DATABASE_URL", database_url}}) == "API_KEY is not set (set API_KEY or API_KEYS)");
    CHECK(error_for(Env{{"DATABASE_URL", database_url}, {"API_KEYS", " , "}}) ==
          "API_KEY is not set (set API_KEY or API_KEYS)");
    CHECK(error_for(minimal({{"API_KEY", "short-secret"}})) ==
          "API_KEY=\"***\" is too short (at least 16 characters in prod)");
    CHECK(error_for(minimal({{"API_KEYS", "0123456789abcdef,tiny-secret"}})) ==
          "API_KEYS=\"***\" is too short (at least 16 characters in prod)");
    // Short keys are a prod rule only.
    CHECK(load(minimal({{"APP_ENV", "dev"}, {"API_KEY", "dev"}})).api_keys == std::vector<std::string>{"dev"});
    CHECK(load(minimal({{"APP_ENV", "test"}, {"API_KEYS", "k"}})).api_keys.size() == 2);
    CHECK(load(minimal({{"API_KEY", "0123456789abcdef"}})).api_keys.front().size() == 16);
  }

  TEST_CASE("error lines for log settings") {
    CHECK(error_for(minimal({{"LOG_LEVEL", "loud"}})) ==
          "LOG_LEVEL=\"loud\" is not one of trace|debug|info|warn|error|critical|off");
    CHECK(error_for(minimal({{"LOG_FORMAT", "xml"}})) == "LOG_FORMAT=\"xml\" is not one of text|json");
  }

  TEST_CASE("error lines for seconds") {
    CHECK(error_for(minimal({{"SHUTDOWN_DRAIN_SECONDS", "x"}})) ==
          "SHUTDOWN_DRAIN_SECONDS=\"x\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"SHUTDOWN_DRAIN_SECONDS", "-1"}})) ==
          "SHUTDOWN_DRAIN_SECONDS=\"-1\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"SHUTDOWN_DRAIN_SECONDS", "5s"}})) ==
          "SHUTDOWN_DRAIN_SECONDS=\"5s\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"SHUTDOWN_DRAIN_SECONDS", "nan"}})) ==
          "SHUTDOWN_DRAIN_SECONDS=\"nan\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"SHUTDOWN_DRAIN_SECONDS", "inf"}})) ==
          "SHUTDOWN_DRAIN_SECONDS=\"inf\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"SHUTDOWN_DRAIN_SECONDS", "0x10"}})) ==
          "SHUTDOWN_DRAIN_SECONDS=\"0x10\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"SHUTDOWN_GRACE_SECONDS", "3600.5"}})) ==
          "SHUTDOWN_GRACE_SECONDS=\"3600.5\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"HEADER_TIMEOUT_SECONDS", "0"}})) ==
          "HEADER_TIMEOUT_SECONDS=\"0\" is not a number of seconds (0.1-3600)");
    CHECK(error_for(minimal({{"HEADER_TIMEOUT_SECONDS", "3601"}})) ==
          "HEADER_TIMEOUT_SECONDS=\"3601\" is not a number of seconds (0.1-3600)");
    CHECK(error_for(minimal({{"IDLE_TIMEOUT_SECONDS", "0.09"}})) ==
          "IDLE_TIMEOUT_SECONDS=\"0.09\" is not a number of seconds (0.1-86400)");
    CHECK(error_for(minimal({{"IDLE_TIMEOUT_SECONDS", "86401"}})) ==
          "IDLE_TIMEOUT_SECONDS=\"86401\" is not a number of seconds (0.1-86400)");
  }

  TEST_CASE("error lines for byte limits") {
    CHECK(error_for(minimal({{"MAX_HEADER_BYTES", "1023"}})) ==
          "MAX_HEADER_BYTES=\"1023\" is not an integer (1024-1048576)");
    CHECK(error_for(minimal({{"MAX_HEADER_BYTES", "1048577"}})) ==
          "MAX_HEADER_BYTES=\"1048577\" is not an integer (1024-1048576)");
    CHECK(error_for(minimal({{"MAX_HEADER_BYTES", "16k"}})) ==
          "MAX_HEADER_BYTES=\"16k\" is not an integer (1024-1048576)");
    CHECK(error_for(minimal({{"MAX_BODY_BYTES", "-1"}})) == "MAX_BODY_BYTES=\"-1\" is not an integer (0-1073741824)");
    CHECK(error_for(minimal({{"MAX_CONNECTIONS", "0"}})) == "MAX_CONNECTIONS=\"0\" is not an integer (1-1000000)");
    CHECK(error_for(minimal({{"MAX_BODY_BYTES", "1073741825"}})) ==
          "MAX_BODY_BYTES=\"1073741825\" is not an integer (0-1073741824)");
    CHECK(error_for(minimal({{"MAX_BODY_BYTES", "18446744073709551616"}})) ==
          "MAX_BODY_BYTES=\"18446744073709551616\" is not an integer (0-1073741824)");
  }

  TEST_CASE("DB pool defaults follow the APP_ENV profile") {
    struct Expected {
      const char* app_env;
      std::size_t size;
      std::size_t max_overflow;
    };
    for (const auto& expected : {Expected{"prod", 10, 20}, Expected{"dev", 5, 10}, Expected{"test", 1, 1},
                                 Expected{"", 10, 20}, Expected{"TEST", 1, 1}}) {
      CAPTURE(expected.app_env);
      const auto settings = load(minimal({{"APP_ENV", expected.app_env}, {"API_KEY", "0123456789abcdef"}}));
      CHECK(settings.pool.size == expected.size);
      CHECK(settings.pool.max_overflow == expected.max_overflow);
      const auto text = config_text(settings);
      CHECK(text.find("\nDB_POOL_SIZE=" + std::to_string(expected.size) + "\n") != std::string::npos);
      CHECK(text.find("\nDB_MAX_OVERFLOW=" + std::to_string(expected.max_overflow) + "\n") != std::string::npos);
    }
    // Without APP_ENV at all the prod profile applies.
    const auto unset = load(minimal());
    CHECK(unset.pool.size == 10);
    CHECK(unset.pool.max_overflow == 20);
  }

  TEST_CASE("DB pool defaults for the other knobs") {
    for (const char* app_env : {"prod", "dev", "test"}) {
      CAPTURE(app_env);
      const auto pool = load(minimal({{"APP_ENV", app_env}})).pool;
      CHECK(pool.acquire_timeout == 5s);
      CHECK(pool.pre_ping);
      CHECK(pool.recycle == 1800s);
      CHECK(pool.connect_timeout == 5s);
      CHECK(pool.statement_timeout == 0ms);
      CHECK(pool.prepared_statements);
      CHECK_FALSE(pool.fail_fast);
      CHECK(pool.reconnect_backoff_max == 500ms);
      // Not configurable: the PoolSettings defaults pass through.
      CHECK(pool.pre_ping_after == 1s);
      CHECK(pool.health_cache == 1s);
    }
  }

  TEST_CASE("DB variables override the profile and the defaults") {
    for (const char* app_env : {"prod", "dev", "test"}) {
      CAPTURE(app_env);
      const auto settings = load(minimal({{"APP_ENV", app_env},
                                          {"DB_POOL_SIZE", "7"},
                                          {"DB_MAX_OVERFLOW", "0"},
                                          {"DB_POOL_TIMEOUT", "0.25"},
                                          {"DB_PRE_PING", "off"},
                                          {"DB_POOL_RECYCLE", "60"},
                                          {"DB_CONNECT_TIMEOUT", "2.5"},
                                          {"DB_STATEMENT_TIMEOUT", "30"},
                                          {"DB_PREPARED_STATEMENTS", "FALSE"},
                                          {"DB_FAIL_FAST", "yes"},
                                          {"DB_RECONNECT_BACKOFF_MAX", "0.25"}}));
      const auto& pool = settings.pool;
      CHECK(pool.size == 7);
      CHECK(pool.max_overflow == 0);
      CHECK(pool.acquire_timeout == 250ms);
      CHECK_FALSE(pool.pre_ping);
      CHECK(pool.recycle == 60s);
      CHECK(pool.connect_timeout == 2500ms);
      CHECK(pool.statement_timeout == 30s);
      CHECK_FALSE(pool.prepared_statements);
      CHECK(pool.fail_fast);
      CHECK(pool.reconnect_backoff_max == 250ms);

      const auto text = config_text(settings);
      for (const char* line : {"DB_POOL_SIZE=7\n", "DB_MAX_OVERFLOW=0\n", "DB_POOL_TIMEOUT=0.25\n",
                               "DB_PRE_PING=false\n", "DB_POOL_RECYCLE=60\n", "DB_CONNECT_TIMEOUT=2.5\n",
                               "DB_STATEMENT_TIMEOUT=30\n", "DB_PREPARED_STATEMENTS=false\n", "DB_FAIL_FAST=true\n",
                               "DB_RECONNECT_BACKOFF_MAX=0.25\n"}) {
        CAPTURE(line);
        CHECK(text.find(line) != std::string::npos);
      }
    }
  }

  TEST_CASE("DB range edges are accepted") {
    auto pool = load(minimal({{"DB_POOL_SIZE", "1"},
                              {"DB_MAX_OVERFLOW", "1000"},
                              {"DB_POOL_TIMEOUT", "0.01"},
                              {"DB_POOL_RECYCLE", "1"},
                              {"DB_CONNECT_TIMEOUT", "0.1"},
                              {"DB_STATEMENT_TIMEOUT", "0"},
                              {"DB_RECONNECT_BACKOFF_MAX", "0.05"}}))
                    .pool;
    CHECK(pool.size == 1);
    CHECK(pool.max_overflow == 1000);
    CHECK(pool.acquire_timeout == 10ms);
    CHECK(pool.recycle == 1s);
    CHECK(pool.connect_timeout == 100ms);
    CHECK(pool.statement_timeout == 0ms);
    CHECK(pool.reconnect_backoff_max == 50ms);

    pool = load(minimal({{"DB_POOL_SIZE", "1000"},
                         {"DB_MAX_OVERFLOW", "0"},
                         {"DB_POOL_TIMEOUT", "600"},
                         {"DB_POOL_RECYCLE", "86400"},
                         {"DB_CONNECT_TIMEOUT", "600"},
                         {"DB_STATEMENT_TIMEOUT", "86400"},
                         {"DB_RECONNECT_BACKOFF_MAX", "60"}}))
               .pool;
    CHECK(pool.size == 1000);
    CHECK(pool.max_overflow == 0);
    CHECK(pool.acquire_timeout == 600s);
    CHECK(pool.recycle == 86400s);
    CHECK(pool.connect_timeout == 600s);
    CHECK(pool.statement_timeout == 86400s);
    CHECK(pool.reconnect_backoff_max == 60s);
  }

  TEST_CASE("an empty DB variable counts as unset") {
    const auto pool = load(minimal({{"APP_ENV", "dev"},
                                    {"DB_POOL_SIZE", ""},
                                    {"DB_MAX_OVERFLOW", ""},
                                    {"DB_POOL_TIMEOUT", ""},
                                    {"DB_PRE_PING", ""},
                                    {"DB_POOL_RECYCLE", ""},
                                    {"DB_CONNECT_TIMEOUT", ""},
                                    {"DB_STATEMENT_TIMEOUT", ""},
                                    {"DB_PREPARED_STATEMENTS", ""},
                                    {"DB_FAIL_FAST", ""},
                                    {"DB_RECONNECT_BACKOFF_MAX", ""}}))
                          .pool;
    CHECK(pool.size == 5);
    CHECK(pool.max_overflow == 10);
    CHECK(pool.acquire_timeout == 5s);
    CHECK(pool.pre_ping);
    CHECK(pool.recycle == 1800s);
    CHECK(pool.connect_timeout == 5s);
    CHECK(pool.statement_timeout == 0ms);
    CHECK(pool.prepared_statements);
    CHECK_FALSE(pool.fail_fast);
    CHECK(pool.reconnect_backoff_max == 500ms);
  }

  TEST_CASE("error lines for DB variables") {
    CHECK(error_for(minimal({{"DB_POOL_SIZE", "0"}})) == "DB_POOL_SIZE=\"0\" is not an integer (1-1000)");
    CHECK(error_for(minimal({{"DB_POOL_SIZE", "1001"}})) == "DB_POOL_SIZE=\"1001\" is not an integer (1-1000)");
    CHECK(error_for(minimal({{"DB_POOL_SIZE", "ten"}})) == "DB_POOL_SIZE=\"ten\" is not an integer (1-1000)");
    CHECK(error_for(minimal({{"DB_POOL_SIZE", "5.0"}})) == "DB_POOL_SIZE=\"5.0\" is not an integer (1-1000)");
    CHECK(error_for(minimal({{"DB_MAX_OVERFLOW", "-1"}})) == "DB_MAX_OVERFLOW=\"-1\" is not an integer (0-1000)");
    CHECK(error_for(minimal({{"DB_MAX_OVERFLOW", "1001"}})) ==
          "DB_MAX_OVERFLOW=\"1001\" is not an integer (0-1000)");
    CHECK(error_for(minimal({{"DB_POOL_TIMEOUT", "0"}})) ==
          "DB_POOL_TIMEOUT=\"0\" is not a number of seconds (0.01-600)");
    CHECK(error_for(minimal({{"DB_POOL_TIMEOUT", "0.009"}})) ==
          "DB_POOL_TIMEOUT=\"0.009\" is not a number of seconds (0.01-600)");
    CHECK(error_for(minimal({{"DB_POOL_TIMEOUT", "601"}})) ==
          "DB_POOL_TIMEOUT=\"601\" is not a number of seconds (0.01-600)");
    CHECK(error_for(minimal({{"DB_POOL_TIMEOUT", "5s"}})) ==
          "DB_POOL_TIMEOUT=\"5s\" is not a number of seconds (0.01-600)");
    CHECK(error_for(minimal({{"DB_PRE_PING", "sometimes"}})) ==
          "DB_PRE_PING=\"sometimes\" is not a boolean (true|false)");
    CHECK(error_for(minimal({{"DB_POOL_RECYCLE", "0.5"}})) ==
          "DB_POOL_RECYCLE=\"0.5\" is not a number of seconds (1-86400)");
    CHECK(error_for(minimal({{"DB_POOL_RECYCLE", "86401"}})) ==
          "DB_POOL_RECYCLE=\"86401\" is not a number of seconds (1-86400)");
    CHECK(error_for(minimal({{"DB_CONNECT_TIMEOUT", "0.09"}})) ==
          "DB_CONNECT_TIMEOUT=\"0.09\" is not a number of seconds (0.1-600)");
    CHECK(error_for(minimal({{"DB_CONNECT_TIMEOUT", "600.5"}})) ==
          "DB_CONNECT_TIMEOUT=\"600.5\" is not a number of seconds (0.1-600)");
    CHECK(error_for(minimal({{"DB_STATEMENT_TIMEOUT", "-1"}})) ==
          "DB_STATEMENT_TIMEOUT=\"-1\" is not a number of seconds (0-86400)");
    CHECK(error_for(minimal({{"DB_STATEMENT_TIMEOUT", "86401"}})) ==
          "DB_STATEMENT_TIMEOUT=\"86401\" is not a number of seconds (0-86400)");
    CHECK(error_for(minimal({{"DB_PREPARED_STATEMENTS", "maybe"}})) ==
          "DB_PREPARED_STATEMENTS=\"maybe\" is not a boolean (true|false)");
    CHECK(error_for(minimal({{"DB_FAIL_FAST", "2"}})) == "DB_FAIL_FAST=\"2\" is not a boolean (true|false)");
    CHECK(error_for(minimal({{"DB_RECONNECT_BACKOFF_MAX", "0.04"}})) ==
          "DB_RECONNECT_BACKOFF_MAX=\"0.04\" is not a number of seconds (0.05-60)");
    CHECK(error_for(minimal({{"DB_RECONNECT_BACKOFF_MAX", "61"}})) ==
          "DB_RECONNECT_BACKOFF_MAX=\"61\" is not a number of seconds (0.05-60)");
  }

  TEST_CASE("statement deadline, TCP user timeout and the pipelined path: values and edges") {
    const auto settings = load(minimal({{"DB_STATEMENT_DEADLINE", "2.5"}, {"DB_TCP_USER_TIMEOUT", "0"},
                                        {"DB_PIPELINE_CONNECTIONS", "3"}, {"DB_PIPELINE_DEPTH", "16"},
                                        {"DB_PIPELINE_BATCH_READS", "false"}}));
    CHECK(settings.pool.statement_deadline == 2500ms);
    CHECK(settings.pool.tcp_user_timeout == 0ms);
    CHECK(settings.pool.pipeline_connections == 3);
    CHECK(settings.pool.pipeline_depth == 16);
    CHECK_FALSE(settings.pool.pipeline_batch_reads);
    const auto defaults = load(minimal({}));
    CHECK(defaults.pool.statement_deadline == 5s);
    CHECK(defaults.pool.tcp_user_timeout == 10s);
    CHECK(defaults.pool.pipeline_connections == 1);
    CHECK(defaults.pool.pipeline_depth == 64);
    CHECK(defaults.pool.pipeline_batch_reads);

    CHECK(error_for(minimal({{"DB_STATEMENT_DEADLINE", "0"}})) ==
          "DB_STATEMENT_DEADLINE=\"0\" is not a number of seconds (0.01-3600)");
    CHECK(error_for(minimal({{"DB_TCP_USER_TIMEOUT", "-1"}})) ==
          "DB_TCP_USER_TIMEOUT=\"-1\" is not a number of seconds (0-3600)");
    CHECK(error_for(minimal({{"DB_PIPELINE_CONNECTIONS", "0"}})) ==
          "DB_PIPELINE_CONNECTIONS=\"0\" is not an integer (1-64)");
    CHECK(error_for(minimal({{"DB_PIPELINE_DEPTH", "1025"}})) == "DB_PIPELINE_DEPTH=\"1025\" is not an integer (1-1024)");
    CHECK(error_for(minimal({{"DB_PIPELINE_BATCH_READS", "yes please"}})) ==
          "DB_PIPELINE_BATCH_READS=\"yes please\" is not a boolean (true|false)");
  }

  TEST_CASE("a bad DB variable is named in reading order") {
    try {
      load(minimal({{"DB_FAIL_FAST", "x"}, {"DB_POOL_SIZE", "x"}, {"LOG_LEVEL", "x"}}));
      FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
      CHECK(error.variable() == "DB_POOL_SIZE");
    }
  }

  TEST_CASE("--help shows the DB profile defaults") {
    const auto lines = lines_of(help_text());
    const auto line_of = [&](const std::string& name) {
      const auto it = std::find_if(lines.begin(), lines.end(),
                                   [&](const std::string& l) { return l.rfind("  " + name + " ", 0) == 0; });
      return it == lines.end() ? std::string() : *it;
    };
    CHECK(line_of("DB_POOL_SIZE").find(" 10 (prod) / 5 (dev) / 1 (test) ") != std::string::npos);
    CHECK(line_of("DB_POOL_SIZE").find("(1-1000)") != std::string::npos);
    CHECK(line_of("DB_MAX_OVERFLOW").find(" 20 (prod) / 10 (dev) / 1 (test) ") != std::string::npos);
    CHECK(line_of("DB_MAX_OVERFLOW").find("(0-1000)") != std::string::npos);
    CHECK(line_of("DB_POOL_TIMEOUT").find("(0.01-600)") != std::string::npos);
    CHECK(line_of("DB_POOL_RECYCLE").find(" 1800 ") != std::string::npos);
    CHECK(line_of("DB_STATEMENT_TIMEOUT").find("0 = server default") != std::string::npos);
    CHECK(line_of("DB_RECONNECT_BACKOFF_MAX").find("(0.05-60)") != std::string::npos);
  }

  TEST_CASE("an error line stays one line whatever the value holds") {
    CHECK(error_for(minimal({{"PORT", "80\n81\t\"x\"\\\x01"}})) ==
          "PORT=\"80\\n81\\t\\\"x\\\"\\\\\\x01\" is not a port (1-65535)");
  }

  TEST_CASE("the first bad variable in reading order is named") {
    try {
      load(Env{{"PORT", "x"}, {"THREADS", "x"}});
      FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
      CHECK(error.variable() == "PORT");
    }
    try {
      load(minimal({{"LOG_FORMAT", "xml"}, {"MAX_BODY_BYTES", "x"}}));
      FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
      CHECK(error.variable() == "LOG_FORMAT");
    }
  }

  TEST_CASE("print_config shows effective values with secrets masked") {
    const auto settings = load(minimal({{"PORT", "9090"}, {"THREADS", "4"}, {"SHUTDOWN_DRAIN_SECONDS", "0.25"}}));
    const auto lines = lines_of(config_text(settings));
    const std::vector<std::string> expected{
        "APP_ENV=prod",
        "HOST=0.0.0.0",
        "PORT=9090",
        "THREADS=4",
        "DATABASE_URL=postgresql://app:***@db:5432/offers",
        "DB_POOL_SIZE=10",
        "DB_MAX_OVERFLOW=20",
        "DB_POOL_TIMEOUT=5",
        "DB_POOL_MAX_WAITERS=1024",
        "DB_PRE_PING=true",
        "DB_POOL_RECYCLE=1800",
        "DB_CONNECT_TIMEOUT=5",
        "DB_STATEMENT_TIMEOUT=0",
        "DB_STATEMENT_DEADLINE=5",
        "DB_TCP_USER_TIMEOUT=10",
        "DB_PIPELINE_CONNECTIONS=1",
        "DB_PIPELINE_DEPTH=64",
        "DB_PIPELINE_BATCH_READS=true",
        "DB_PREPARED_STATEMENTS=true",
        "DB_FAIL_FAST=false",
        "DB_RECONNECT_BACKOFF_MAX=0.5",
        "MIGRATIONS_DATABASE_URL=(unset)",
        "MIGRATIONS_LOCK_TIMEOUT=30",
        "API_KEY=***",
        "API_KEYS=(unset)",
        "LOG_LEVEL=info",
        "LOG_FORMAT=text",
        "SHUTDOWN_DRAIN_SECONDS=0.25",
        "SHUTDOWN_GRACE_SECONDS=20",
        "MAX_HEADER_BYTES=16384",
        "MAX_BODY_BYTES=1048576",
        "HEADER_TIMEOUT_SECONDS=10",
        "IDLE_TIMEOUT_SECONDS=75",
        "MAX_CONNECTIONS=10000",
        "CORS_ALLOW_ORIGINS=",
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS=5",
        "UPSTREAM_READ_TIMEOUT_SECONDS=10",
        "UPSTREAM_TIMEOUT_SECONDS=15",
        "UPSTREAM_MAX_RESPONSE_BYTES=8388608",
        "UPSTREAM_MAX_CONNECTIONS=16",
        "UPSTREAM_MAX_WAITERS=256",
        "UPSTREAM_RETRIES=2",
        "UPSTREAM_CA_FILE=",
        "USE_ORIGIN_PROXY=false",
        "ORIGIN_PROXY_URL=(unset)",
        "TELEMETRY_ENABLED=true",
        "TELEMETRY_ASYNC_WRITES=true",
        "TELEMETRY_QUEUE_CAPACITY=10000",
        "TELEMETRY_BATCH_SIZE=2000",
        "TELEMETRY_BATCH_MIN=250",
        "TELEMETRY_FLUSH_MS=1000",
        "TELEMETRY_SYNC_WAIT_MS=1000",
        "ACCESS_LOG=false",
    };
    CHECK(lines == expected);
  }

  TEST_CASE("telemetry settings: TELEMETRY_* and ACCESS_LOG") {
    const auto settings = load(minimal({{"TELEMETRY_ENABLED", "false"}, {"TELEMETRY_ASYNC_WRITES", "false"},
                                        {"TELEMETRY_QUEUE_CAPACITY", "7"}, {"TELEMETRY_BATCH_SIZE", "3"}, {"TELEMETRY_BATCH_MIN", "2"},
                                        {"TELEMETRY_FLUSH_MS", "25"}, {"TELEMETRY_SYNC_WAIT_MS", "40"},
                                        {"ACCESS_LOG", "true"}}));
    CHECK_FALSE(settings.telemetry.enabled);
    CHECK_FALSE(settings.telemetry.async_writes);
    CHECK(settings.telemetry.queue_capacity == 7);
    CHECK(settings.telemetry.batch_size == 3);
    CHECK(settings.telemetry.batch_min == 2);
    CHECK(settings.telemetry.flush_interval == std::chrono::milliseconds(25));
    CHECK(settings.telemetry.sync_wait == std::chrono::milliseconds(40));
    CHECK(load(minimal()).telemetry.sync_wait == std::chrono::milliseconds(1000));
    CHECK(settings.telemetry.access_log);
    try {
      load(minimal({{"TELEMETRY_QUEUE_CAPACITY", "0"}}));
      FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
      CHECK(error.variable() == "TELEMETRY_QUEUE_CAPACITY");
    }
  }

  TEST_CASE("upstream settings: UPSTREAM_*, USE_ORIGIN_PROXY and ORIGIN_PROXY_URL") {
    const auto settings = load(minimal({{"UPSTREAM_CONNECT_TIMEOUT_SECONDS", "1.5"},
                                        {"UPSTREAM_READ_TIMEOUT_SECONDS", "2"},
                                        {"UPSTREAM_TIMEOUT_SECONDS", "3"},
                                        {"UPSTREAM_MAX_RESPONSE_BYTES", "4096"},
                                        {"UPSTREAM_MAX_CONNECTIONS", "4"},
                                        {"UPSTREAM_RETRIES", "0"},
                                        {"UPSTREAM_CA_FILE", "/tmp/ca.pem"},
                                        {"USE_ORIGIN_PROXY", "true"},
                                        {"ORIGIN_PROXY_URL", "http://u:secret@127.0.0.1:3128"}}));
    const auto& up = settings.upstream;
    CHECK(up.connect_timeout == std::chrono::milliseconds(1500));
    CHECK(up.read_timeout == std::chrono::milliseconds(2000));
    CHECK(up.total_timeout == std::chrono::milliseconds(3000));
    CHECK(up.max_response_bytes == 4096);
    CHECK(up.max_connections_per_origin == 4);
    CHECK(up.max_retries == 0);
    CHECK(up.ca_file == "/tmp/ca.pem");
    CHECK(up.use_proxy);
    CHECK(up.proxy_url == "http://u:secret@127.0.0.1:3128");
    std::ostringstream printed;
    svc::config::print_config(printed, settings.effective);
    CHECK(printed.str().find("secret") == std::string::npos);

    CHECK(error_for(minimal({{"USE_ORIGIN_PROXY", "true"}})) ==
          "ORIGIN_PROXY_URL is not set (expected http://host:port; USE_ORIGIN_PROXY=true)");
    const auto bad_proxy = error_for(minimal({{"USE_ORIGIN_PROXY", "true"}, {"ORIGIN_PROXY_URL", "socks5://u:pw@h:1"}}));
    CHECK(bad_proxy.rfind("ORIGIN_PROXY_URL=", 0) == 0);
    CHECK(bad_proxy.find("pw") == std::string::npos);
    // A proxy URL without USE_ORIGIN_PROXY is kept but not checked or used.
    CHECK_FALSE(load(minimal({{"ORIGIN_PROXY_URL", "junk"}})).upstream.use_proxy);
    CHECK(error_for(minimal({{"UPSTREAM_RETRIES", "11"}})) == "UPSTREAM_RETRIES=\"11\" is not an integer (0-10)");
    CHECK(error_for(minimal({{"UPSTREAM_TIMEOUT_SECONDS", "0"}})) ==
          "UPSTREAM_TIMEOUT_SECONDS=\"0\" is not a number of seconds (0.1-600)");
  }

  TEST_CASE("MIGRATIONS_DATABASE_URL: unset falls back to DATABASE_URL; set, it is parsed and shown masked") {
    CHECK_FALSE(load(minimal()).migrations.url);
    const auto settings = load(minimal({{"MIGRATIONS_DATABASE_URL", "postgresql://owner:direct-pw@pg-primary:5432/offers"},
                                        {"MIGRATIONS_LOCK_TIMEOUT", "2.5"}}));
    REQUIRE(settings.migrations.url);
    CHECK(settings.migrations.url->host == "pg-primary");
    CHECK(settings.migrations.url->user == "owner");
    CHECK(settings.migrations.lock_timeout == std::chrono::milliseconds(2500));
    CHECK(settings.database.host == "db");  // the pool's URL is its own
    const auto text = config_text(settings);
    CHECK(text.find("MIGRATIONS_DATABASE_URL=postgresql://owner:***@pg-primary:5432/offers\n") != std::string::npos);
    CHECK(text.find("direct-pw") == std::string::npos);

    const auto bad = error_for(minimal({{"MIGRATIONS_DATABASE_URL", "mysql://owner:direct-pw@db/x"}}));
    CHECK(bad.rfind("MIGRATIONS_DATABASE_URL=", 0) == 0);
    CHECK(bad.find("is not a PostgreSQL URL") != std::string::npos);
    CHECK(bad.find("direct-pw") == std::string::npos);
    CHECK(error_for(minimal({{"MIGRATIONS_LOCK_TIMEOUT", "0"}})) ==
          "MIGRATIONS_LOCK_TIMEOUT=\"0\" is not a number of seconds (0.1-3600)");
  }

  TEST_CASE("print_config shows the resolved thread count and set API_KEYS as ***") {
    const auto settings = load(Env{{"DATABASE_URL", database_url}, {"API_KEYS", "a-key-0123456789ab"}});
    const auto text = config_text(settings);
    CHECK(text.find("THREADS=" + std::to_string(expected_default_threads()) + "\n") != std::string::npos);
    CHECK(text.find("API_KEY=(unset)\n") != std::string::npos);
    CHECK(text.find("API_KEYS=***\n") != std::string::npos);
  }

  TEST_CASE("secrets never appear in errors or print_config") {
    const std::string password = "Pa55-w0rd-xyzzy";
    const std::string key = "key-material-0123456789";
    const std::vector<Env> environments{
        Env{{"DATABASE_URL", "postgresql://app:" + password + "@db/offers"}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgres+x://app:" + password + "@db/offers"}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgresql://app:" + password + "@db/a/b"}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgresql://app:" + password + "@@db/offers"}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgresql://app:" + password + " x@db/offers"}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgresql://app@db/offers?password=" + password}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgresql://app@db/offers?password=" + password + "&x"}, {"API_KEY", key}},
        Env{{"DATABASE_URL", "postgresql://app:" + password + "@db/offers"}, {"API_KEY", password.substr(0, 5)}},
        Env{{"DATABASE_URL", "postgresql://app:" + password + "@db/offers"}, {"API_KEYS", key + ",short"}},
        Env{{"DATABASE_URL", "postgresql://app:" + password + "@db/offers"}, {"API_KEY", key}, {"PORT", "x"}},
        Env{{"DATABASE_URL", "postgresql://app@db/offers"}, {"API_KEY", key},
            {"MIGRATIONS_DATABASE_URL", "postgresql://app:" + password + "@db:5432/offers"}},
        Env{{"DATABASE_URL", "postgresql://app@db/offers"}, {"API_KEY", key},
            {"MIGRATIONS_DATABASE_URL", "mysql://app:" + password + "@db/offers"}},
    };
    for (const auto& env : environments) {
      CAPTURE(env.at("DATABASE_URL"));
      std::string output;
      try {
        output = config_text(load(env));
      } catch (const ConfigError& error) {
        output = error.what();
      }
      CHECK_FALSE(output.empty());
      CHECK(output.find(password) == std::string::npos);
      CHECK(output.find(password.substr(0, 5)) == std::string::npos);
      CHECK(output.find(key) == std::string::npos);
    }
  }

  TEST_CASE("--help lists every variable with its default") {
    const auto text = help_text();
    CHECK(text.rfind("Usage: p2p-dashboard [--help | --print-config | migrate [--status]]\n", 0) == 0);
    CHECK(text.find("--help") != std::string::npos);
    CHECK(text.find("--print-config") != std::string::npos);

    const auto lines = lines_of(text);
    const auto& variables = Settings::variables();
    CHECK(variables.size() == 53);
    std::size_t help_column = std::string::npos;
    for (const auto& v : variables) {
      CAPTURE(v.name);
      const auto line = std::find_if(lines.begin(), lines.end(),
                                     [&](const std::string& l) { return l.rfind("  " + v.name + " ", 0) == 0; });
      REQUIRE(line != lines.end());
      const std::string shown_default = v.default_text.empty() ? "required" : v.default_text;
      CHECK(line->find(" " + shown_default + " ") != std::string::npos);
      CHECK(line->find(v.help) != std::string::npos);
      // Aligned: every help text starts in the same column.
      const auto column = line->find(v.help);
      if (help_column == std::string::npos) help_column = column;
      CHECK(column == help_column);
    }
    CHECK(text.find("  DATABASE_URL ") != std::string::npos);
  }

  TEST_CASE("the documented defaults are the ones applied") {
    std::map<std::string, std::string> documented;
    for (const auto& v : Settings::variables()) documented[v.name] = v.default_text;
    CHECK(documented.at("APP_ENV") == "prod");
    CHECK(documented.at("HOST") == "0.0.0.0");
    CHECK(documented.at("PORT") == "8080");
    CHECK(documented.at("THREADS") == "0");
    CHECK(documented.at("DATABASE_URL").empty());
    CHECK(documented.at("LOG_LEVEL") == "info");
    CHECK(documented.at("LOG_FORMAT") == "text");
    CHECK(documented.at("SHUTDOWN_DRAIN_SECONDS") == "5");
    CHECK(documented.at("SHUTDOWN_GRACE_SECONDS") == "20");
    CHECK(documented.at("MAX_HEADER_BYTES") == "16384");
    CHECK(documented.at("MAX_BODY_BYTES") == "1048576");
    CHECK(documented.at("HEADER_TIMEOUT_SECONDS") == "10");
    CHECK(documented.at("IDLE_TIMEOUT_SECONDS") == "75");
    CHECK(documented.at("MAX_CONNECTIONS") == "10000");
    CHECK(documented.at("DB_POOL_SIZE") == "10 (prod) / 5 (dev) / 1 (test)");
    CHECK(documented.at("DB_MAX_OVERFLOW") == "20 (prod) / 10 (dev) / 1 (test)");
    CHECK(documented.at("DB_POOL_TIMEOUT") == "5");
    CHECK(documented.at("DB_PRE_PING") == "true");
    CHECK(documented.at("DB_POOL_RECYCLE") == "1800");
    CHECK(documented.at("DB_CONNECT_TIMEOUT") == "5");
    CHECK(documented.at("DB_STATEMENT_TIMEOUT") == "0");
    CHECK(documented.at("DB_PREPARED_STATEMENTS") == "true");
    CHECK(documented.at("DB_FAIL_FAST") == "false");
    CHECK(documented.at("DB_RECONNECT_BACKOFF_MAX") == "0.5");

    // print_config of the defaults repeats the documented values (profile
    // defaults are checked per APP_ENV in their own test).
    for (const auto& entry : load(minimal()).effective) {
      const auto& text = documented.at(entry.name);
      // "(none)": optional, no default value (the effective one is empty or "(unset)").
      if (!text.empty() && text != "(none)" && entry.name != "THREADS" && entry.name != "DB_POOL_SIZE" &&
          entry.name != "DB_MAX_OVERFLOW") {
        CAPTURE(entry.name);
        CHECK(entry.value == text);
      }
    }
  }

  TEST_CASE("variables() is one immutable list with unique names") {
    CHECK(&Settings::variables() == &Settings::variables());
    std::set<std::string> names;
    for (const auto& v : Settings::variables()) CHECK(names.insert(v.name).second);
    const auto secret = [](std::string_view name) {
      const auto& all = Settings::variables();
      return std::find_if(all.begin(), all.end(), [&](const Variable& v) { return v.name == name; })->secret;
    };
    CHECK(secret("API_KEY"));
    CHECK(secret("API_KEYS"));
    CHECK(secret("DATABASE_URL"));
    CHECK_FALSE(secret("PORT"));
  }

  TEST_CASE("to_string") {
    CHECK(svc::config::to_string(AppEnv::prod) == "prod");
    CHECK(svc::config::to_string(AppEnv::dev) == "dev");
    CHECK(svc::config::to_string(AppEnv::test) == "test");
    CHECK(svc::telemetry::to_string(LogFormat::text) == "text");
    CHECK(svc::telemetry::to_string(LogFormat::json) == "json");
  }
}

TEST_SUITE("app settings") {
  using p2p::AppSettings;
  AppSettings app_load(const Env& env) {
    std::vector<svc::config::EnvReader::Effective> effective;
    return AppSettings::from_env(map_env(env), effective);
  }

  TEST_CASE("parse_duration: a positive count and one unit, bounded") {
    using p2p::parse_duration;
    CHECK(parse_duration("90s", 86400) == std::chrono::seconds(90));
    CHECK(parse_duration("30m", 86400) == std::chrono::seconds(1800));
    CHECK(parse_duration("12h", 86400) == std::chrono::seconds(43200));
    CHECK(parse_duration("1d", 86400) == std::chrono::seconds(86400));
    for (const char* bad : {"", "d", "0d", "30", "1.5h", "-1d", "1w", "2d", "30 d", "01h"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_duration(bad, 86400));
    }
  }

  TEST_CASE("retention: unset or empty keeps everything; 1h-3650d; anything else names the variable") {
    const auto defaults = app_load({});
    CHECK_FALSE(defaults.offers_retention);
    CHECK_FALSE(defaults.telemetry_retention);
    CHECK(defaults.retention_interval == std::chrono::seconds(300));
    CHECK(defaults.retention_batch_rows == 5000);
    const auto set = app_load({{"OFFERS_RETENTION", "30d"}, {"TELEMETRY_RETENTION", "36h"},
                               {"RETENTION_INTERVAL_SECONDS", "60"}, {"RETENTION_BATCH_ROWS", "100"}});
    CHECK(set.offers_retention == std::chrono::seconds(30 * 86400));
    CHECK(set.telemetry_retention == std::chrono::seconds(36 * 3600));
    CHECK(set.retention_interval == std::chrono::seconds(60));
    CHECK(set.retention_batch_rows == 100);
    CHECK_FALSE(app_load({{"OFFERS_RETENTION", ""}}).offers_retention);
    for (const auto& pair : std::vector<std::pair<std::string, std::string>>{
             {"OFFERS_RETENTION", "30"}, {"OFFERS_RETENTION", "59m"}, {"OFFERS_RETENTION", "3651d"},
             {"TELEMETRY_RETENTION", "7 days"}, {"RETENTION_BATCH_ROWS", "0"}, {"RETENTION_INTERVAL_SECONDS", "0"}}) {
      // Named, not a structured binding: clang 14 (the sanitizer builds) cannot capture one.
      const std::string& name = pair.first;
      const std::string& value = pair.second;
      CAPTURE(name);
      CAPTURE(value);
      try {
        app_load({{name, value}});
        FAIL("expected a ConfigError");
      } catch (const ConfigError& error) {
        CHECK(error.variable() == name);
        CHECK(std::string(error.what()).rfind(name + "=\"" + value + "\" is not ", 0) == 0);
      }
    }
  }
}

TEST_SUITE("env") {
  TEST_CASE("map_env finds set names only") {
    const auto env = map_env({{"A", "1"}, {"EMPTY", ""}});
    CHECK(env("A") == std::optional<std::string>("1"));
    CHECK(env("EMPTY") == std::optional<std::string>(""));
    CHECK_FALSE(env("B").has_value());

    const EnvReader reader(env);
    CHECK(reader.raw("A") == std::optional<std::string>("1"));
    CHECK_FALSE(reader.raw("EMPTY").has_value());
  }

  TEST_CASE("process_env reads the real environment") {
    const auto env = svc::config::process_env();
    CHECK_FALSE(env("SVC_CONFIG_TEST_SURELY_UNSET_VARIABLE").has_value());
    if (const char* path = std::getenv("PATH")) CHECK(env("PATH") == std::optional<std::string>(path));
  }

  TEST_CASE("boolean accepts the usual spellings in any case") {
    for (const char* yes : {"true", "TRUE", "1", "yes", "Yes", "on", "ON"}) {
      EnvReader reader(map_env({{"FLAG", yes}}));
      CHECK(reader.boolean(test_variable, false));
    }
    for (const char* no : {"false", "False", "0", "no", "NO", "off", "Off"}) {
      EnvReader reader(map_env({{"FLAG", no}}));
      CHECK_FALSE(reader.boolean(test_variable, true));
    }
    EnvReader unset(map_env({{"FLAG", ""}}));
    CHECK(unset.boolean(test_variable, true));
    CHECK(unset.effective().back().value == "true");
  }

  TEST_CASE("boolean error line") {
    for (const char* bad : {"maybe", "2", "y", "tru"}) {
      EnvReader reader(map_env({{"FLAG", bad}}));
      try {
        reader.boolean(test_variable, false);
        FAIL("expected a ConfigError");
      } catch (const ConfigError& error) {
        CHECK(std::string(error.what()) == "FLAG=\"" + std::string(bad) + "\" is not a boolean (true|false)");
        CHECK(error.variable() == "FLAG");
      }
    }
  }

  TEST_CASE("required_string error line and secret masking") {
    EnvReader missing(map_env({}));
    CHECK_THROWS_WITH_AS(missing.required_string(secret_variable), "TOKEN is not set (expected a token)", ConfigError);

    EnvReader reader(map_env({{"TOKEN", "abc"}}));
    CHECK(reader.required_string(secret_variable) == "abc");
    CHECK(reader.effective().back().name == "TOKEN");
    CHECK(reader.effective().back().value == "***");

    EnvReader secret_integer(map_env({{"TOKEN", "12x"}}));
    CHECK_THROWS_WITH_AS(secret_integer.integer(secret_variable, 0, 0, 100), "TOKEN=\"***\" is not an integer (0-100)",
                         ConfigError);
  }

  TEST_CASE("list trims items and drops empties") {
    EnvReader reader(map_env({{"FLAG", " a, b ,,c , "}}));
    CHECK(reader.list(test_variable) == std::vector<std::string>{"a", "b", "c"});
    CHECK(reader.effective().back().value == "a,b,c");
  }

  TEST_CASE("record replaces an entry in place") {
    EnvReader reader(map_env({{"FLAG", "yes"}}));
    reader.boolean(test_variable, false);
    reader.string(secret_variable, "");
    reader.record(test_variable, "resolved");
    REQUIRE(reader.effective().size() == 2);
    CHECK(reader.effective()[0].name == "FLAG");
    CHECK(reader.effective()[0].value == "resolved");
    CHECK(reader.effective()[1].value == "(unset)");
  }

  TEST_CASE("shown, error_line and seconds_text") {
    CHECK(svc::config::shown(secret_variable, "abc") == "***");
    CHECK(svc::config::shown(test_variable, "abc") == "abc");
    CHECK(svc::config::error_line("X", "a\"b", "is bad") == "X=\"a\\\"b\" is bad");
    CHECK(svc::config::seconds_text(std::chrono::milliseconds{1500}) == "1.5");
    CHECK(svc::config::seconds_text(std::chrono::milliseconds{20000}) == "20");
    CHECK(svc::config::seconds_text(std::chrono::milliseconds{100}) == "0.1");
  }

  TEST_CASE("ConfigError carries the variable and the line") {
    const ConfigError error("PORT", "PORT=\"abc\" is not a port (1-65535)");
    CHECK(error.variable() == "PORT");
    CHECK(std::string(error.what()) == "PORT=\"abc\" is not a port (1-65535)");
  }
}

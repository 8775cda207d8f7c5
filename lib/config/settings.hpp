#pragma once
// The service's typed settings, read from the environment once, in main,
// before anything else is created.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "lib/config/database_url.hpp"
#include "lib/config/env.hpp"
#include "lib/http/client_settings.hpp"
#include "lib/pg/pool_settings.hpp"
#include "lib/telemetry/telemetry_settings.hpp"

namespace svc::config {

enum class AppEnv { prod, dev, test };
enum class LogFormat { text, json };

struct HttpSettings {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{75'000};
};

struct ShutdownSettings {
  std::chrono::milliseconds drain{5'000};   // ready=false but still serving
  std::chrono::milliseconds grace{20'000};  // bound on waiting for in-flight work
};

struct Settings {
  AppEnv app_env = AppEnv::prod;
  unsigned threads = 0;  // 0 is resolved to hardware concurrency by from_env
  HttpSettings http;
  ShutdownSettings shutdown;
  DatabaseUrl database;
  // DB_* knobs; DB_POOL_SIZE and DB_MAX_OVERFLOW default by APP_ENV profile.
  svc::pg::PoolSettings pool;
  svc::http::ClientSettings upstream;  // UPSTREAM_*, USE_ORIGIN_PROXY, ORIGIN_PROXY_URL
  svc::telemetry::TelemetrySettings telemetry;  // TELEMETRY_*, ACCESS_LOG
  std::vector<std::string> api_keys;  // API_KEY plus API_KEYS; never empty
  std::string log_level = "info";     // trace|debug|info|warn|error|critical|off
  LogFormat log_format = LogFormat::text;

  // Effective values (secrets masked) in reading order, for --print-config.
  std::vector<EnvReader::Effective> effective;
  // Notes worth a log line once logging is up (e.g. "driver suffix ignored").
  std::vector<std::string> notes;

  // Throws ConfigError naming the first bad variable.
  static Settings from_env(const EnvLookup& env);
  // Every variable with its default and meaning, for --help.
  static const std::vector<Variable>& variables();
};

std::string_view to_string(AppEnv env);
std::string_view to_string(LogFormat format);

// `more`: the application's own variables, listed after the kit's.
void print_help(std::ostream& out, std::string_view program, const std::vector<Variable>& more = {});
void print_config(std::ostream& out, const Settings& settings);

}  // namespace svc::config

#pragma once
// The service kit's settings, assembled from the modules that own them, read
// from the environment once, in main, before anything else is created. The
// order of the sections is the order of --help and --print-config.

#include <string>
#include <vector>

#include "lib/config/database_url.hpp"
#include "lib/config/env.hpp"
#include "lib/config/section.hpp"
#include "lib/events/writer_settings.hpp"
#include "lib/http/api_key.hpp"
#include "lib/http/client_settings.hpp"
#include "lib/http/server_settings.hpp"
#include "lib/lifecycle/lifecycle_settings.hpp"
#include "lib/pg/pool_settings.hpp"
#include "lib/telemetry/logging.hpp"

namespace svc::service {

// The event writer's TELEMETRY_* plus ACCESS_LOG (request_telemetry.hpp).
struct TelemetrySettings : events::WriterSettings {
  bool access_log = false;  // ACCESS_LOG: one log line per request
};
const config::Section<TelemetrySettings>& access_log_section();

struct Settings {
  config::AppEnv app_env = config::AppEnv::prod;
  unsigned threads = 0;  // resolved: never 0 after from_env
  http::ServerSettings http;
  lifecycle::ShutdownSettings shutdown;
  config::DatabaseUrl database;
  pg::PoolSettings pool;  // DB_POOL_SIZE and DB_MAX_OVERFLOW default by APP_ENV
  pg::MigrationSettings migrations;
  http::ClientSettings upstream;
  TelemetrySettings telemetry;
  std::vector<std::string> api_keys;  // never empty
  std::string log_level = "info";
  telemetry::LogFormat log_format = telemetry::LogFormat::text;

  // Effective values (secrets masked) in reading order, for --print-config.
  std::vector<config::EnvReader::Effective> effective;
  // Notes worth a log line once logging is up (e.g. "driver suffix ignored").
  std::vector<std::string> notes;

  // Throws ConfigError naming the first bad variable.
  static Settings from_env(const config::EnvLookup& env);
  // Every variable with its default and meaning, for --help.
  static const std::vector<config::Variable>& variables();
};

}  // namespace svc::service

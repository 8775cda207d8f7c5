#include "lib/service/settings.hpp"

#include <algorithm>
#include <stdexcept>

namespace svc::service {

namespace {

struct Profile {
  config::AppEnv app_env = config::AppEnv::prod;
};

const config::Section<Profile>& app_env_section() {
  static const auto section = [] {
    config::Section<Profile> s;
    s.add({"APP_ENV", "prod", "prod|dev|test; prod requires API keys of at least 16 characters"},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, Profile& out) {
            const auto name = r.one_of(v, std::string(config::to_string(out.app_env)), {"prod", "dev", "test"});
            out.app_env = name == "dev"    ? config::AppEnv::dev
                          : name == "test" ? config::AppEnv::test
                                           : config::AppEnv::prod;
          });
    return s;
  }();
  return section;
}

// Every section and where its values go, in --help order.
// The values the sections read that Settings keeps in other shapes.
struct Staging {
  Profile profile;
  lifecycle::LoopSettings loops;
  http::ApiKeys keys;
  telemetry::LogSettings log;
};

template <class Visit>
void for_each_section(Settings& s, Staging& staged, Visit visit) {
  visit(app_env_section(), staged.profile);
  visit(http::listen_section(), s.http);
  visit(lifecycle::loops_section(), staged.loops);
  visit(pg::database_section(), s.database);
  visit(pg::pool_section(), s.pool);
  visit(http::api_key_section(), staged.keys);
  visit(telemetry::log_section(), staged.log);
  visit(lifecycle::shutdown_section(), s.shutdown);
  visit(http::limits_section(), s.http);
  visit(http::cors_section(), s.http.cors);
  visit(http::client_section(), s.upstream);
  visit(events::writer_section(), static_cast<events::WriterSettings&>(s.telemetry));
  visit(access_log_section(), s.telemetry);
}

}  // namespace

const config::Section<TelemetrySettings>& access_log_section() {
  static const auto section = [] {
    config::Section<TelemetrySettings> s;
    s.boolean("ACCESS_LOG", &TelemetrySettings::access_log, "one log line per request (true|false)");
    return s;
  }();
  return section;
}

Settings Settings::from_env(const config::EnvLookup& env) {
  Settings settings;  // member initialisers are the defaults
  config::EnvReader reader(env);
  Staging staged;
  config::ReadContext context{config::AppEnv::prod, &settings.notes};
  for_each_section(settings, staged, [&](const auto& section, auto& target) {
    section.read(reader, context, target);
    context.app_env = staged.profile.app_env;  // read first: later profiles follow it
  });
  settings.app_env = staged.profile.app_env;
  settings.threads = staged.loops.threads;
  settings.api_keys = std::move(staged.keys.keys);
  settings.log_level = std::move(staged.log.level);
  settings.log_format = staged.log.format;
  settings.effective = reader.effective();
  return settings;
}

const std::vector<config::Variable>& Settings::variables() {
  static const std::vector<config::Variable> all = [] {
    std::vector<config::Variable> list;
    Settings s;
    Staging staged;
    for_each_section(s, staged, [&list](const auto& section, auto&) {
      list.insert(list.end(), section.variables().begin(), section.variables().end());
    });
    return list;
  }();
  return all;
}

}  // namespace svc::service

#include "lib/config/settings.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace svc::config {

namespace {

// Positions in Settings::variables(): the order of reading, of --help and of
// --print-config.
enum class Var : std::size_t {
  app_env,
  host,
  port,
  threads,
  database_url,
  db_pool_size,
  db_max_overflow,
  db_pool_timeout,
  db_pre_ping,
  db_pool_recycle,
  db_connect_timeout,
  db_statement_timeout,
  db_statement_deadline,
  db_tcp_user_timeout,
  db_pipeline_connections,
  db_pipeline_depth,
  db_pipeline_batch_reads,
  db_prepared_statements,
  db_fail_fast,
  db_reconnect_backoff_max,
  api_key,
  api_keys,
  log_level,
  log_format,
  shutdown_drain,
  shutdown_grace,
  max_header_bytes,
  max_body_bytes,
  header_timeout,
  idle_timeout,
  upstream_connect_timeout,
  upstream_read_timeout,
  upstream_timeout,
  upstream_max_response_bytes,
  upstream_max_connections,
  upstream_retries,
  upstream_ca_file,
  use_origin_proxy,
  origin_proxy_url,
  // Telemetry (TELEMETRY_*, ACCESS_LOG): read by read_telemetry().
  telemetry_enabled,
  telemetry_async_writes,
  telemetry_queue_capacity,
  telemetry_batch_size,
  telemetry_flush_ms,
  access_log,
  count
};

const Variable& variable(Var id) { return Settings::variables()[static_cast<std::size_t>(id)]; }

// Rules shared by the reader and the help text, so the two cannot disagree.
struct IntegerRange {
  std::int64_t min;
  std::int64_t max;
};
struct SecondsRange {
  double min;
  double max;
};
// A default that depends on APP_ENV (used when the variable is unset).
struct Profile {
  std::int64_t prod;
  std::int64_t dev;
  std::int64_t test;
};
constexpr IntegerRange threads_range{0, 256};
constexpr IntegerRange header_bytes_range{1024, 1024 * 1024};
constexpr IntegerRange body_bytes_range{0, 1024 * 1024 * 1024};
constexpr SecondsRange shutdown_range{0, 3600};
constexpr SecondsRange header_timeout_range{0.1, 3600};
constexpr SecondsRange idle_timeout_range{0.1, 86400};
constexpr IntegerRange pool_size_range{1, 1000};
constexpr IntegerRange max_overflow_range{0, 1000};
constexpr SecondsRange pool_timeout_range{0.01, 600};
constexpr SecondsRange pool_recycle_range{1, 86400};
constexpr SecondsRange connect_timeout_range{0.1, 600};
constexpr SecondsRange statement_timeout_range{0, 86400};
constexpr SecondsRange statement_deadline_range{0.01, 3600};
constexpr SecondsRange tcp_user_timeout_range{0, 3600};
constexpr IntegerRange pipeline_connections_range{1, 64};
constexpr IntegerRange pipeline_depth_range{1, 1024};
constexpr SecondsRange reconnect_backoff_range{0.05, 60};
constexpr SecondsRange upstream_timeout_range{0.1, 600};
constexpr IntegerRange upstream_response_bytes_range{1024, 1024 * 1024 * 1024};
constexpr IntegerRange upstream_connections_range{1, 1024};
constexpr IntegerRange upstream_retries_range{0, 10};
constexpr Profile pool_size_profile{10, 5, 1};
constexpr Profile max_overflow_profile{20, 10, 1};
// PoolSettings' own defaults are the prod profile.
static_assert(svc::pg::PoolSettings{}.size == pool_size_profile.prod);
static_assert(svc::pg::PoolSettings{}.max_overflow == max_overflow_profile.prod);
constexpr std::size_t min_prod_api_key_length = 16;
constexpr std::string_view database_url_form = "postgresql://user:password@host:port/dbname";

constexpr std::array<AppEnv, 3> app_envs{AppEnv::prod, AppEnv::dev, AppEnv::test};
constexpr std::array<LogFormat, 2> log_formats{LogFormat::text, LogFormat::json};
constexpr std::array<std::string_view, 7> log_levels{"trace", "debug", "info", "warn", "error", "critical", "off"};

template <class Range>
std::vector<std::string> names_of(const Range& values) {
  std::vector<std::string> names;
  for (const auto& value : values) names.emplace_back(to_string(value));
  return names;
}

std::vector<std::string> names_of(const std::array<std::string_view, 7>& values) {
  return {values.begin(), values.end()};
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : "|") + name;
  return text;
}

// Appends rather than "(" + ...: GCC 12 warns falsely (-Wrestrict) on the latter.
std::string bracketed_range(const std::string& min, const std::string& max) {
  std::string out = "(";
  out.append(min).append("-").append(max).append(")");
  return out;
}

std::string range_text(const IntegerRange& range) {
  return bracketed_range(std::to_string(range.min), std::to_string(range.max));
}

std::string range_text(const SecondsRange& range) {
  using std::chrono::milliseconds;
  return bracketed_range(seconds_text(milliseconds{static_cast<std::int64_t>(range.min * 1000)}),
                         seconds_text(milliseconds{static_cast<std::int64_t>(range.max * 1000)}));
}

std::int64_t profile_value(const Profile& profile, AppEnv env) {
  switch (env) {
    case AppEnv::prod: return profile.prod;
    case AppEnv::dev: return profile.dev;
    case AppEnv::test: return profile.test;
  }
  return profile.prod;
}

// "10 (prod) / 5 (dev) / 1 (test)"
std::string profile_text(const Profile& profile) {
  std::string text;
  for (const auto env : app_envs) {
    if (!text.empty()) text += " / ";
    text += std::to_string(profile_value(profile, env)) + " (" + std::string(to_string(env)) + ")";
  }
  return text;
}

std::string bool_text(bool value) { return value ? "true" : "false"; }


template <class Enum, std::size_t N>
Enum enum_named(const std::array<Enum, N>& values, std::string_view name) {
  for (const auto value : values) {
    if (to_string(value) == name) return value;
  }
  // one_of() only returns allowed spellings, so this is a programming error.
  throw std::logic_error("unknown enumerator " + std::string(name));
}

unsigned resolve_threads(std::int64_t requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  return std::max(1u, std::thread::hardware_concurrency());
}

void read_database(EnvReader& reader, Settings& settings) {
  const Variable& v = variable(Var::database_url);
  const std::string url = reader.required_string(v);
  try {
    settings.database = parse_database_url(url);
  } catch (const std::invalid_argument& error) {
    throw ConfigError(v.name, error_line(v.name, masked_url(url),
                                         "is not a PostgreSQL URL (expected " + v.expected + "): " + error.what()));
  }
  reader.record(v, settings.database.sanitized());
  if (!settings.database.ignored_driver.empty()) {
    settings.notes.push_back(v.name + ": driver suffix \"+" + settings.database.ignored_driver +
                             "\" ignored; using libpq");
  }
}

void read_pool(EnvReader& reader, Settings& settings) {
  auto& pool = settings.pool;
  const auto count = [&](Var id, const Profile& profile, const IntegerRange& range) {
    return static_cast<std::size_t>(
        reader.integer(variable(id), profile_value(profile, settings.app_env), range.min, range.max));
  };
  const auto seconds = [&reader](Var id, std::chrono::milliseconds fallback, const SecondsRange& range) {
    return reader.seconds(variable(id), fallback, range.min, range.max);
  };
  pool.size = count(Var::db_pool_size, pool_size_profile, pool_size_range);
  pool.max_overflow = count(Var::db_max_overflow, max_overflow_profile, max_overflow_range);
  pool.acquire_timeout = seconds(Var::db_pool_timeout, pool.acquire_timeout, pool_timeout_range);
  pool.pre_ping = reader.boolean(variable(Var::db_pre_ping), pool.pre_ping);
  pool.recycle = seconds(Var::db_pool_recycle, pool.recycle, pool_recycle_range);
  pool.connect_timeout = seconds(Var::db_connect_timeout, pool.connect_timeout, connect_timeout_range);
  pool.statement_timeout = seconds(Var::db_statement_timeout, pool.statement_timeout, statement_timeout_range);
  pool.statement_deadline = seconds(Var::db_statement_deadline, pool.statement_deadline, statement_deadline_range);
  pool.tcp_user_timeout = seconds(Var::db_tcp_user_timeout, pool.tcp_user_timeout, tcp_user_timeout_range);
  const auto integer = [&reader](Var id, std::size_t fallback, const IntegerRange& range) {
    return static_cast<std::size_t>(
        reader.integer(variable(id), static_cast<std::int64_t>(fallback), range.min, range.max));
  };
  pool.pipeline_connections = integer(Var::db_pipeline_connections, pool.pipeline_connections, pipeline_connections_range);
  pool.pipeline_depth = integer(Var::db_pipeline_depth, pool.pipeline_depth, pipeline_depth_range);
  pool.pipeline_batch_reads = reader.boolean(variable(Var::db_pipeline_batch_reads), pool.pipeline_batch_reads);
  pool.prepared_statements = reader.boolean(variable(Var::db_prepared_statements), pool.prepared_statements);
  pool.fail_fast = reader.boolean(variable(Var::db_fail_fast), pool.fail_fast);
  pool.reconnect_backoff_max =
      seconds(Var::db_reconnect_backoff_max, pool.reconnect_backoff_max, reconnect_backoff_range);
}

// Telemetry: TELEMETRY_* and ACCESS_LOG.
constexpr IntegerRange telemetry_queue_range{1, 10'000'000};
constexpr IntegerRange telemetry_batch_range{1, 5'000};
constexpr IntegerRange telemetry_flush_ms_range{1, 600'000};

void define_telemetry(const std::function<void(Var, Variable)>& define, const svc::telemetry::TelemetrySettings& t) {
  define(Var::telemetry_enabled, {"TELEMETRY_ENABLED", bool_text(t.enabled),
                                  "write request/upstream/scrape events to telemetry_events (true|false)"});
  define(Var::telemetry_async_writes,
         {"TELEMETRY_ASYNC_WRITES", bool_text(t.async_writes),
          "batch events in the background (true) or write each before its response (false)"});
  define(Var::telemetry_queue_capacity,
         {"TELEMETRY_QUEUE_CAPACITY", std::to_string(t.queue_capacity),
          "events held while unwritten; beyond that dropped and counted " + range_text(telemetry_queue_range)});
  define(Var::telemetry_batch_size, {"TELEMETRY_BATCH_SIZE", std::to_string(t.batch_size),
                                     "events per COPY " + range_text(telemetry_batch_range)});
  define(Var::telemetry_flush_ms, {"TELEMETRY_FLUSH_MS", std::to_string(t.flush_interval.count()),
                                   "longest an event waits for its batch, in ms " + range_text(telemetry_flush_ms_range)});
  define(Var::access_log, {"ACCESS_LOG", bool_text(t.access_log), "one log line per request (true|false)"});
}

void read_telemetry(EnvReader& reader, Settings& settings) {
  auto& t = settings.telemetry;
  const auto count = [&reader](Var id, std::size_t fallback, const IntegerRange& range) {
    return static_cast<std::size_t>(
        reader.integer(variable(id), static_cast<std::int64_t>(fallback), range.min, range.max));
  };
  t.enabled = reader.boolean(variable(Var::telemetry_enabled), t.enabled);
  t.async_writes = reader.boolean(variable(Var::telemetry_async_writes), t.async_writes);
  t.queue_capacity = count(Var::telemetry_queue_capacity, t.queue_capacity, telemetry_queue_range);
  t.batch_size = count(Var::telemetry_batch_size, t.batch_size, telemetry_batch_range);
  t.flush_interval = std::chrono::milliseconds(
      count(Var::telemetry_flush_ms, static_cast<std::size_t>(t.flush_interval.count()), telemetry_flush_ms_range));
  t.access_log = reader.boolean(variable(Var::access_log), t.access_log);
}

void check_api_key_length(const Variable& v, const std::string& key, AppEnv env) {
  if (env != AppEnv::prod || key.size() >= min_prod_api_key_length) return;
  throw ConfigError(v.name, error_line(v.name, shown(v, key),
                                       "is too short (at least " + std::to_string(min_prod_api_key_length) +
                                           " characters in prod)"));
}

void read_api_keys(EnvReader& reader, Settings& settings) {
  const Variable& single = variable(Var::api_key);
  const Variable& rotation = variable(Var::api_keys);
  // A key pasted from a file often carries a trailing newline no client sends.
  const std::string key(trim(reader.string(single, "")));
  std::vector<std::string> keys;
  if (!key.empty()) {
    check_api_key_length(single, key, settings.app_env);
    keys.push_back(key);
  }
  for (auto& extra : reader.list(rotation)) {
    check_api_key_length(rotation, extra, settings.app_env);
    if (std::find(keys.begin(), keys.end(), extra) == keys.end()) keys.push_back(std::move(extra));
  }
  if (keys.empty()) {
    throw ConfigError(single.name, single.name + " is not set (set " + single.name + " or " + rotation.name + ")");
  }
  settings.api_keys = std::move(keys);
}

void read_upstream(EnvReader& reader, Settings& settings) {
  auto& up = settings.upstream;
  const auto seconds = [&reader](Var id, std::chrono::milliseconds fallback) {
    return reader.seconds(variable(id), fallback, upstream_timeout_range.min, upstream_timeout_range.max);
  };
  const auto count = [&reader](Var id, std::size_t fallback, const IntegerRange& range) {
    return static_cast<std::size_t>(
        reader.integer(variable(id), static_cast<std::int64_t>(fallback), range.min, range.max));
  };
  up.connect_timeout = seconds(Var::upstream_connect_timeout, up.connect_timeout);
  up.read_timeout = seconds(Var::upstream_read_timeout, up.read_timeout);
  up.total_timeout = seconds(Var::upstream_timeout, up.total_timeout);
  up.max_response_bytes =
      count(Var::upstream_max_response_bytes, up.max_response_bytes, upstream_response_bytes_range);
  up.max_connections_per_origin =
      count(Var::upstream_max_connections, up.max_connections_per_origin, upstream_connections_range);
  up.max_retries = static_cast<unsigned>(count(Var::upstream_retries, up.max_retries, upstream_retries_range));
  up.ca_file = reader.string(variable(Var::upstream_ca_file), up.ca_file);
  up.use_proxy = reader.boolean(variable(Var::use_origin_proxy), up.use_proxy);

  const Variable& proxy = variable(Var::origin_proxy_url);
  up.proxy_url = reader.string(proxy, "");
  if (!up.use_proxy) return;
  if (up.proxy_url.empty()) {
    throw ConfigError(proxy.name, proxy.name + " is not set (expected " + proxy.expected + "; USE_ORIGIN_PROXY=true)");
  }
  if (up.proxy_url.rfind("http://", 0) != 0 || up.proxy_url.size() <= 7) {
    throw ConfigError(proxy.name, error_line(proxy.name, masked_url(up.proxy_url),
                                             "is not an HTTP proxy URL (expected " + proxy.expected + ")"));
  }
}

}  // namespace

std::string_view to_string(AppEnv env) {
  switch (env) {
    case AppEnv::prod: return "prod";
    case AppEnv::dev: return "dev";
    case AppEnv::test: return "test";
  }
  return "unknown";
}

std::string_view to_string(LogFormat format) {
  switch (format) {
    case LogFormat::text: return "text";
    case LogFormat::json: return "json";
  }
  return "unknown";
}

const std::vector<Variable>& Settings::variables() {
  static const std::vector<Variable> all = [] {
    // Defaults are the member initialisers of Settings: one source of truth.
    const Settings defaults;
    std::vector<Variable> list(static_cast<std::size_t>(Var::count));
    const auto define = [&list](Var id, Variable v) { list[static_cast<std::size_t>(id)] = std::move(v); };

    define(Var::app_env, {"APP_ENV", std::string(to_string(defaults.app_env)),
                          joined(names_of(app_envs)) + "; prod requires API keys of at least " +
                              std::to_string(min_prod_api_key_length) + " characters"});
    define(Var::host, {"HOST", defaults.http.host, "address to listen on"});
    define(Var::port, {"PORT", std::to_string(defaults.http.port), "TCP port to listen on (1-65535)"});
    define(Var::threads, {"THREADS", std::to_string(defaults.threads),
                          "event loops, one thread each " + range_text(threads_range) + "; 0 = hardware concurrency"});
    define(Var::database_url,
           {"DATABASE_URL", "",
            "PostgreSQL URL " + std::string(database_url_form) + "; postgres:// and postgresql+<driver>:// accepted",
            true, std::string(database_url_form)});
    const auto& pool = defaults.pool;
    define(Var::db_pool_size, {"DB_POOL_SIZE", profile_text(pool_size_profile),
                               "database connections kept open " + range_text(pool_size_range) + "; default by APP_ENV"});
    define(Var::db_max_overflow,
           {"DB_MAX_OVERFLOW", profile_text(max_overflow_profile),
            "extra connections under burst, closed when idle " + range_text(max_overflow_range) +
                "; default by APP_ENV"});
    define(Var::db_pool_timeout, {"DB_POOL_TIMEOUT", seconds_text(pool.acquire_timeout),
                                  "seconds to wait for a free connection, then 503 " + range_text(pool_timeout_range)});
    define(Var::db_pre_ping, {"DB_PRE_PING", bool_text(pool.pre_ping),
                              "check a connection idle for over " + seconds_text(pool.pre_ping_after) +
                                  " s before handing it out (true|false)"});
    define(Var::db_pool_recycle, {"DB_POOL_RECYCLE", seconds_text(pool.recycle),
                                  "seconds a connection may live before it is replaced " +
                                      range_text(pool_recycle_range)});
    define(Var::db_connect_timeout, {"DB_CONNECT_TIMEOUT", seconds_text(pool.connect_timeout),
                                     "seconds allowed to open a connection " + range_text(connect_timeout_range)});
    define(Var::db_statement_timeout, {"DB_STATEMENT_TIMEOUT", seconds_text(pool.statement_timeout),
                                       "statement_timeout in seconds " + range_text(statement_timeout_range) +
                                           "; 0 = server default"});
    define(Var::db_statement_deadline,
           {"DB_STATEMENT_DEADLINE", seconds_text(pool.statement_deadline),
            "seconds a statement may take, waiting included, before its caller gets 504 (a connection whose oldest "
            "statement passes it is replaced) " + range_text(statement_deadline_range)});
    define(Var::db_tcp_user_timeout,
           {"DB_TCP_USER_TIMEOUT", seconds_text(pool.tcp_user_timeout),
            "seconds unacknowledged data may wait before the database socket is dropped " +
                range_text(tcp_user_timeout_range) + "; 0 = the kernel's default"});
    define(Var::db_pipeline_connections,
           {"DB_PIPELINE_CONNECTIONS", std::to_string(pool.pipeline_connections),
            "pipelined connections per event loop for single statements " + range_text(pipeline_connections_range)});
    define(Var::db_pipeline_depth, {"DB_PIPELINE_DEPTH", std::to_string(pool.pipeline_depth),
                                    "statements in flight per pipelined connection; more wait " +
                                        range_text(pipeline_depth_range)});
    define(Var::db_pipeline_batch_reads,
           {"DB_PIPELINE_BATCH_READS", bool_text(pool.pipeline_batch_reads),
            "let read-only statements share a pipeline sync (true|false); a read aborted by another's error is "
            "sent again alone"});
    define(Var::db_prepared_statements,
           {"DB_PREPARED_STATEMENTS", bool_text(pool.prepared_statements),
            "cache prepared statements per connection (true|false); false for PgBouncer transaction mode"});
    define(Var::db_fail_fast, {"DB_FAIL_FAST", bool_text(pool.fail_fast),
                               "exit 1 if the database is unreachable at start-up, after DB_CONNECT_TIMEOUT "
                               "(true|false); false = start, not ready, keep reconnecting"});
    define(Var::db_reconnect_backoff_max,
           {"DB_RECONNECT_BACKOFF_MAX", seconds_text(pool.reconnect_backoff_max),
            "longest pause between reconnection attempts, in seconds " + range_text(reconnect_backoff_range)});
    define(Var::api_key, {"API_KEY", "", "API key clients must present (or set API_KEYS)", true});
    define(Var::api_keys, {"API_KEYS", "(none)", "more accepted API keys, comma-separated, for rotation", true});
    define(Var::log_level, {"LOG_LEVEL", defaults.log_level, joined(names_of(log_levels))});
    define(Var::log_format, {"LOG_FORMAT", std::string(to_string(defaults.log_format)), joined(names_of(log_formats))});
    define(Var::shutdown_drain,
           {"SHUTDOWN_DRAIN_SECONDS", seconds_text(defaults.shutdown.drain),
            "after SIGTERM, seconds to keep serving while not ready " + range_text(shutdown_range)});
    define(Var::shutdown_grace,
           {"SHUTDOWN_GRACE_SECONDS", seconds_text(defaults.shutdown.grace),
            "then, seconds to wait for in-flight requests " + range_text(shutdown_range)});
    define(Var::max_header_bytes, {"MAX_HEADER_BYTES", std::to_string(defaults.http.max_header_bytes),
                                   "largest accepted request header " + range_text(header_bytes_range)});
    define(Var::max_body_bytes, {"MAX_BODY_BYTES", std::to_string(defaults.http.max_body_bytes),
                                 "largest accepted request body " + range_text(body_bytes_range)});
    define(Var::header_timeout, {"HEADER_TIMEOUT_SECONDS", seconds_text(defaults.http.header_timeout),
                                 "seconds allowed to receive a request header " + range_text(header_timeout_range)});
    define(Var::idle_timeout, {"IDLE_TIMEOUT_SECONDS", seconds_text(defaults.http.idle_timeout),
                               "seconds a keep-alive connection may idle " + range_text(idle_timeout_range)});
    const auto& up = defaults.upstream;
    define(Var::upstream_connect_timeout,
           {"UPSTREAM_CONNECT_TIMEOUT_SECONDS", seconds_text(up.connect_timeout),
            "exchange calls: seconds to resolve, connect, tunnel and handshake " + range_text(upstream_timeout_range)});
    define(Var::upstream_read_timeout, {"UPSTREAM_READ_TIMEOUT_SECONDS", seconds_text(up.read_timeout),
                                        "exchange calls: seconds to wait for response bytes " +
                                            range_text(upstream_timeout_range)});
    define(Var::upstream_timeout, {"UPSTREAM_TIMEOUT_SECONDS", seconds_text(up.total_timeout),
                                   "exchange calls: seconds for a whole call, retries included " +
                                       range_text(upstream_timeout_range)});
    define(Var::upstream_max_response_bytes,
           {"UPSTREAM_MAX_RESPONSE_BYTES", std::to_string(up.max_response_bytes),
            "largest accepted exchange response " + range_text(upstream_response_bytes_range)});
    define(Var::upstream_max_connections,
           {"UPSTREAM_MAX_CONNECTIONS", std::to_string(up.max_connections_per_origin),
            "keep-alive connections per exchange host " + range_text(upstream_connections_range)});
    define(Var::upstream_retries, {"UPSTREAM_RETRIES", std::to_string(up.max_retries),
                                   "extra attempts for read-only exchange calls " + range_text(upstream_retries_range)});
    define(Var::upstream_ca_file, {"UPSTREAM_CA_FILE", "(none)",
                                   "PEM file of CA certificates trusted besides the system store (for tests)"});
    define(Var::use_origin_proxy, {"USE_ORIGIN_PROXY", bool_text(up.use_proxy),
                                   "send exchange calls through ORIGIN_PROXY_URL (true|false)"});
    define(Var::origin_proxy_url, {"ORIGIN_PROXY_URL", "(none)",
                                   "HTTP proxy http://[user:password@]host:port; CONNECT is used for https", true,
                                   "http://host:port"});
    define_telemetry(define, defaults.telemetry);

    if (std::any_of(list.begin(), list.end(), [](const Variable& v) { return v.name.empty(); })) {
      throw std::logic_error("Settings::variables(): a variable is not defined");
    }
    return list;
  }();
  return all;
}

Settings Settings::from_env(const EnvLookup& env) {
  Settings settings;  // member initialisers are the defaults
  EnvReader reader(env);

  settings.app_env = enum_named(
      app_envs, reader.one_of(variable(Var::app_env), std::string(to_string(settings.app_env)), names_of(app_envs)));
  settings.http.host = reader.string(variable(Var::host), settings.http.host);
  settings.http.port = reader.port(variable(Var::port), settings.http.port);

  const auto threads = reader.integer(variable(Var::threads), settings.threads, threads_range.min, threads_range.max);
  settings.threads = resolve_threads(threads);
  reader.record(variable(Var::threads), std::to_string(settings.threads));

  read_database(reader, settings);
  read_pool(reader, settings);
  read_api_keys(reader, settings);

  settings.log_level = reader.one_of(variable(Var::log_level), settings.log_level, names_of(log_levels));
  settings.log_format =
      enum_named(log_formats, reader.one_of(variable(Var::log_format), std::string(to_string(settings.log_format)),
                                            names_of(log_formats)));

  const auto seconds = [&reader](Var id, std::chrono::milliseconds fallback, const SecondsRange& range) {
    return reader.seconds(variable(id), fallback, range.min, range.max);
  };
  settings.shutdown.drain = seconds(Var::shutdown_drain, settings.shutdown.drain, shutdown_range);
  settings.shutdown.grace = seconds(Var::shutdown_grace, settings.shutdown.grace, shutdown_range);

  const auto bytes = [&reader](Var id, std::size_t fallback, const IntegerRange& range) {
    return static_cast<std::size_t>(
        reader.integer(variable(id), static_cast<std::int64_t>(fallback), range.min, range.max));
  };
  settings.http.max_header_bytes = bytes(Var::max_header_bytes, settings.http.max_header_bytes, header_bytes_range);
  settings.http.max_body_bytes = bytes(Var::max_body_bytes, settings.http.max_body_bytes, body_bytes_range);
  settings.http.header_timeout = seconds(Var::header_timeout, settings.http.header_timeout, header_timeout_range);
  settings.http.idle_timeout = seconds(Var::idle_timeout, settings.http.idle_timeout, idle_timeout_range);
  read_upstream(reader, settings);
  read_telemetry(reader, settings);

  settings.effective = reader.effective();
  return settings;
}

void print_help(std::ostream& out, std::string_view program, const std::vector<Variable>& more) {
  out << "Usage: " << program << " [--help | --print-config | migrate [--status]]\n"
      << "\n"
      << "Options:\n"
      << "  --help            print this help and exit\n"
      << "  --print-config    print the effective configuration (secrets masked) and exit\n"
      << "  migrate           apply pending schema migrations and exit (the server also does at start-up)\n"
      << "  migrate --status  list migrations, applied or pending, and exit\n"
      << "  (no argument)     run the service\n"
      << "\n"
      << "Environment variables (an empty value counts as unset):\n";

  std::vector<Variable> variables = Settings::variables();
  variables.insert(variables.end(), more.begin(), more.end());
  const auto default_shown = [](const Variable& v) { return v.default_text.empty() ? std::string("required") : v.default_text; };
  std::size_t name_width = 0;
  std::size_t default_width = 0;
  for (const auto& v : variables) {
    name_width = std::max(name_width, v.name.size());
    default_width = std::max(default_width, default_shown(v).size());
  }
  for (const auto& v : variables) {
    const std::string name = v.name;
    const std::string fallback = default_shown(v);
    out << "  " << name << std::string(name_width - name.size() + 2, ' ') << fallback
        << std::string(default_width - fallback.size() + 2, ' ') << v.help << (v.secret ? " (secret)" : "") << '\n';
  }
}

void print_config(std::ostream& out, const Settings& settings) {
  for (const auto& entry : settings.effective) out << entry.name << '=' << entry.value << '\n';
}

}  // namespace svc::config

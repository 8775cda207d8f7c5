#include "app/app_settings.hpp"

#include <algorithm>
#include <stdexcept>

namespace p2p {

namespace config = svc::config;

namespace {

enum class Var : std::size_t {
  binance_base_url,
  bybit_base_url,
  pairs_cache,
  scrape_targets,
  scrape_interval,
  bybit_payment_catalogue,
  bybit_payment_catalogue_retry,
  offers_retention,
  telemetry_retention,
  retention_interval,
  retention_batch_rows,
  count
};

constexpr double pairs_cache_min = 0;
constexpr double pairs_cache_max = 86400;
constexpr double scrape_interval_min = 1;
constexpr double scrape_interval_max = 86400;
constexpr double catalogue_min = 0;
constexpr double catalogue_max = 86400;
constexpr double catalogue_retry_min = 1;
constexpr double catalogue_retry_max = 3600;
// A retention shorter than an hour is more likely a typo ("30m" for "30d")
// than a wish to keep nothing: refused.
constexpr std::int64_t retention_min_seconds = 3600;
constexpr std::int64_t retention_max_seconds = 3650LL * 86400;
constexpr double retention_interval_min = 1;
constexpr double retention_interval_max = 86400;
constexpr std::int64_t retention_batch_min = 1;
constexpr std::int64_t retention_batch_max = 1'000'000;

const config::Variable& variable(Var id) { return AppSettings::variables()[static_cast<std::size_t>(id)]; }

// An exchange base URL: http(s)://host[:port][/prefix], kept without a trailing '/'.
std::string read_base_url(config::EnvReader& reader, Var id, const std::string& fallback) {
  const config::Variable& v = variable(id);
  std::string url = reader.string(v, fallback);
  const bool http = url.rfind("http://", 0) == 0 && url.size() > 7;
  const bool https = url.rfind("https://", 0) == 0 && url.size() > 8;
  if (!http && !https) {
    throw config::ConfigError(v.name, config::error_line(v.name, config::shown(v, url),
                                                         "is not an http:// or https:// URL"));
  }
  while (url.back() == '/') url.pop_back();
  return url;
}

// OFFERS_RETENTION / TELEMETRY_RETENTION: unset or empty keeps everything.
std::optional<std::chrono::seconds> read_retention(config::EnvReader& reader, Var id) {
  const config::Variable& v = variable(id);
  const std::string text = reader.string(v, "");
  if (text.empty()) return std::nullopt;
  const auto d = parse_duration(text, retention_max_seconds);
  if (!d || d->count() < retention_min_seconds)
    throw config::ConfigError(v.name, config::error_line(v.name, text,
                                                         "is not a retention like 30d (1h-3650d in s, m, h or d; "
                                                         "empty keeps everything)"));
  return d;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view s, std::int64_t max_seconds) {
  if (s.size() < 2 || s.size() > 12 || s[0] < '1' || s[0] > '9') return std::nullopt;
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + (s[i] - '0');
  }
  std::int64_t unit = 0;
  switch (s.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  if (n > max_seconds / unit) return std::nullopt;
  return std::chrono::seconds{n * unit};
}

bool is_currency_code(std::string_view code) noexcept {
  return code.size() >= 2 && code.size() <= 10 &&
         std::all_of(code.begin(), code.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

std::vector<ScrapeTarget> parse_scrape_targets(const std::vector<std::string>& entries) {
  std::vector<ScrapeTarget> targets;
  for (const std::string& entry : entries) {
    const std::string quoted = std::string("\"").append(entry).append("\"");
    const auto fields = split(entry, ':');
    if (fields.size() != 3) throw std::invalid_argument(quoted + " is not exchange:ASSET/FIAT:BUY|SELL");
    ScrapeTarget t;
    t.exchange = fields[0];
    if (t.exchange != "binance" && t.exchange != "bybit")
      throw std::invalid_argument(quoted + ": unknown exchange \"" + t.exchange + "\" (binance|bybit)");
    const auto pair = split(fields[1], '/');
    if (pair.size() != 2 || !is_currency_code(pair[0]) || !is_currency_code(pair[1]))
      throw std::invalid_argument(quoted + ": \"" + fields[1] + "\" is not ASSET/FIAT (2-10 of A-Z0-9 each)");
    t.market.asset = pair[0];
    t.market.fiat = pair[1];
    if (fields[2] != "BUY" && fields[2] != "SELL")
      throw std::invalid_argument(quoted + ": trade type must be BUY or SELL");
    t.market.trade_type = fields[2];
    const bool duplicate = std::any_of(targets.begin(), targets.end(), [&](const ScrapeTarget& other) {
      return other.exchange == t.exchange && other.market.asset == t.market.asset &&
             other.market.fiat == t.market.fiat && other.market.trade_type == t.market.trade_type;
    });
    if (duplicate) throw std::invalid_argument(quoted + " is listed twice");
    targets.push_back(std::move(t));
  }
  return targets;
}

const std::vector<config::Variable>& AppSettings::variables() {
  static const std::vector<config::Variable> all = [] {
    const AppSettings defaults;
    std::vector<config::Variable> list(static_cast<std::size_t>(Var::count));
    const auto define = [&list](Var id, config::Variable v) { list[static_cast<std::size_t>(id)] = std::move(v); };
    define(Var::binance_base_url, {"BINANCE_BASE_URL", defaults.binance_base_url, "Binance P2P API base URL"});
    define(Var::bybit_base_url, {"BYBIT_BASE_URL", defaults.bybit_base_url, "Bybit P2P API base URL"});
    define(Var::pairs_cache, {"PAIRS_CACHE_SECONDS", config::seconds_text(defaults.pairs_cache),
                              "seconds /api/v1/binance/pairs is served from cache (0-86400; 0 = no cache)"});
    define(Var::scrape_targets, {"SCRAPE_TARGETS", "(none)",
                                 "markets the background scraper stores every round, e.g. "
                                 "binance:USDT/VES:BUY,bybit:USDT/VES:SELL; empty = scraper off"});
    define(Var::scrape_interval, {"SCRAPE_INTERVAL_SECONDS", config::seconds_text(defaults.scrape_interval),
                                  "seconds between scraper rounds (1-86400)"});
    define(Var::bybit_payment_catalogue,
           {"BYBIT_PAYMENT_CATALOGUE_SECONDS", config::seconds_text(defaults.bybit_payment_catalogue),
            "seconds a fetched Bybit payment catalogue (id -> name) is used before it is fetched again (0-86400; "
            "0 = none: Bybit payment ids are shown as \"Bybit payment N\")"});
    define(Var::bybit_payment_catalogue_retry,
           {"BYBIT_PAYMENT_CATALOGUE_RETRY_SECONDS", config::seconds_text(defaults.bybit_payment_catalogue_retry),
            "seconds before the first retry of a failed catalogue fetch, doubling up to "
            "BYBIT_PAYMENT_CATALOGUE_SECONDS (1-3600); the last good copy is used meanwhile"});
    define(Var::offers_retention,
           {"OFFERS_RETENTION", "(none)",
            "offers fetched longer ago than this are deleted, with their payment method links, e.g. 30d (1h-3650d, "
            "in s, m, h or d); empty keeps everything"});
    define(Var::telemetry_retention,
           {"TELEMETRY_RETENTION", "(none)",
            "telemetry events older than this are deleted, e.g. 7d (1h-3650d); empty keeps everything"});
    define(Var::retention_interval,
           {"RETENTION_INTERVAL_SECONDS", config::seconds_text(defaults.retention_interval),
            "seconds between retention runs (1-86400); one replica at a time runs them"});
    define(Var::retention_batch_rows,
           {"RETENTION_BATCH_ROWS", std::to_string(defaults.retention_batch_rows),
            "rows deleted per statement by a retention run (1-1000000): short transactions, short locks"});
    return list;
  }();
  return all;
}

AppSettings AppSettings::from_env(const config::EnvLookup& env,
                                  std::vector<config::EnvReader::Effective>& effective) {
  AppSettings s;
  config::EnvReader reader(env);
  s.binance_base_url = read_base_url(reader, Var::binance_base_url, s.binance_base_url);
  s.bybit_base_url = read_base_url(reader, Var::bybit_base_url, s.bybit_base_url);
  s.pairs_cache = reader.seconds(variable(Var::pairs_cache), s.pairs_cache, pairs_cache_min,
                                 pairs_cache_max);
  const config::Variable& targets = variable(Var::scrape_targets);
  try {
    s.scrape_targets = parse_scrape_targets(reader.list(targets));
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(targets.name, targets.name + ": " + e.what());
  }
  s.scrape_interval = reader.seconds(variable(Var::scrape_interval), s.scrape_interval,
                                     scrape_interval_min, scrape_interval_max);
  s.bybit_payment_catalogue = reader.seconds(variable(Var::bybit_payment_catalogue), s.bybit_payment_catalogue,
                                             catalogue_min, catalogue_max);
  s.bybit_payment_catalogue_retry = reader.seconds(variable(Var::bybit_payment_catalogue_retry),
                                                   s.bybit_payment_catalogue_retry, catalogue_retry_min,
                                                   catalogue_retry_max);
  s.offers_retention = read_retention(reader, Var::offers_retention);
  s.telemetry_retention = read_retention(reader, Var::telemetry_retention);
  s.retention_interval = reader.seconds(variable(Var::retention_interval), s.retention_interval,
                                        retention_interval_min, retention_interval_max);
  s.retention_batch_rows = static_cast<std::size_t>(
      reader.integer(variable(Var::retention_batch_rows), static_cast<std::int64_t>(s.retention_batch_rows),
                     retention_batch_min, retention_batch_max));
  effective.insert(effective.end(), reader.effective().begin(), reader.effective().end());
  return s;
}

}  // namespace p2p

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
  effective.insert(effective.end(), reader.effective().begin(), reader.effective().end());
  return s;
}

}  // namespace p2p

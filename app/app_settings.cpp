#include "app/app_settings.hpp"

#include <algorithm>
#include <stdexcept>

namespace p2p {

namespace config = svc::config;

namespace {

constexpr config::SecondsRange pairs_cache_range{0, 86400};
constexpr config::SecondsRange scrape_interval_range{1, 86400};
constexpr config::SecondsRange catalogue_range{0, 86400};
constexpr config::SecondsRange catalogue_retry_range{1, 3600};
// A retention shorter than an hour is more likely a typo ("30m" for "30d")
// than a wish to keep nothing: refused.
constexpr std::int64_t retention_min_seconds = 3600;
constexpr std::int64_t retention_max_seconds = 3650LL * 86400;
constexpr config::SecondsRange retention_interval_range{1, 86400};
constexpr config::IntegerRange retention_batch_range{1, 1'000'000};

// An exchange base URL: http(s)://host[:port][/prefix], kept without a trailing '/'.
std::string read_base_url(config::EnvReader& reader, const config::Variable& v, const std::string& fallback) {
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
std::optional<std::chrono::seconds> read_retention(config::EnvReader& reader, const config::Variable& v) {
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

const config::Section<AppSettings>& app_section() {
  using config::EnvReader;
  using config::ReadContext;
  using config::Variable;
  static const auto section = [] {
    const AppSettings defaults;
    config::Section<AppSettings> s;
    s.add({"BINANCE_BASE_URL", defaults.binance_base_url, "Binance P2P API base URL"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            out.binance_base_url = read_base_url(r, v, out.binance_base_url);
          });
    s.add({"BYBIT_BASE_URL", defaults.bybit_base_url, "Bybit P2P API base URL"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            out.bybit_base_url = read_base_url(r, v, out.bybit_base_url);
          });
    // Their help says more inside the range's brackets: read by hand.
    s.add({"PAIRS_CACHE_SECONDS", config::seconds_text(defaults.pairs_cache),
           "seconds /api/v1/binance/pairs is served from cache (0-86400; 0 = no cache)"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            out.pairs_cache = r.seconds(v, out.pairs_cache, pairs_cache_range.min, pairs_cache_range.max);
          });
    s.add({"SCRAPE_TARGETS", "(none)",
           "markets the background scraper stores every round, e.g. "
           "binance:USDT/VES:BUY,bybit:USDT/VES:SELL; empty = scraper off"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            try {
              out.scrape_targets = parse_scrape_targets(r.list(v));
            } catch (const std::invalid_argument& e) {
              throw config::ConfigError(v.name, v.name + ": " + e.what());
            }
          });
    s.seconds("SCRAPE_INTERVAL_SECONDS", &AppSettings::scrape_interval, scrape_interval_range,
              "seconds between scraper rounds {range}");
    s.add({"BYBIT_PAYMENT_CATALOGUE_SECONDS", config::seconds_text(defaults.bybit_payment_catalogue),
           "seconds a fetched Bybit payment catalogue (id -> name) is used before it is fetched again (0-86400; "
           "0 = none: Bybit payment ids are shown as \"Bybit payment N\")"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            out.bybit_payment_catalogue =
                r.seconds(v, out.bybit_payment_catalogue, catalogue_range.min, catalogue_range.max);
          });
    s.seconds("BYBIT_PAYMENT_CATALOGUE_RETRY_SECONDS", &AppSettings::bybit_payment_catalogue_retry,
              catalogue_retry_range,
              "seconds before the first retry of a failed catalogue fetch, doubling up to "
              "BYBIT_PAYMENT_CATALOGUE_SECONDS {range}; the last good copy is used meanwhile");
    s.add({"OFFERS_RETENTION", "(none)",
           "offers fetched longer ago than this are deleted, with their payment method links, e.g. 30d (1h-3650d, "
           "in s, m, h or d); empty keeps everything"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            out.offers_retention = read_retention(r, v);
          });
    s.add({"TELEMETRY_RETENTION", "(none)",
           "telemetry events older than this are deleted, e.g. 7d (1h-3650d); empty keeps everything"},
          [](EnvReader& r, const Variable& v, const ReadContext&, AppSettings& out) {
            out.telemetry_retention = read_retention(r, v);
          });
    s.seconds("RETENTION_INTERVAL_SECONDS", &AppSettings::retention_interval, retention_interval_range,
              "seconds between retention runs {range}; one replica at a time runs them");
    s.integer("RETENTION_BATCH_ROWS", &AppSettings::retention_batch_rows, retention_batch_range,
              "rows deleted per statement by a retention run {range}: short transactions, short locks");
    return s;
  }();
  return section;
}

const std::vector<config::Variable>& AppSettings::variables() { return app_section().variables(); }

AppSettings AppSettings::from_env(const config::EnvLookup& env,
                                  std::vector<config::EnvReader::Effective>& effective) {
  AppSettings s;
  config::EnvReader reader(env);
  app_section().read(reader, {}, s);
  effective.insert(effective.end(), reader.effective().begin(), reader.effective().end());
  return s;
}

}  // namespace p2p

#pragma once
// The P2P application's own settings (exchange hosts, caches, scraper),
// read from the environment right after the service kit's Settings.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/exchanges/offer.hpp"
#include "lib/config/env.hpp"
#include "lib/config/section.hpp"

namespace p2p {

// One market the background scraper fetches every round.
struct ScrapeTarget {
  std::string exchange;  // "binance" | "bybit"
  Market market;
};

struct AppSettings {
  std::string binance_base_url = "https://p2p.binance.com";
  std::string bybit_base_url = "https://api2.bybit.com";
  std::chrono::milliseconds pairs_cache{300'000};
  std::vector<ScrapeTarget> scrape_targets;  // empty: the scraper is off
  std::chrono::milliseconds scrape_interval{60'000};
  std::chrono::milliseconds bybit_payment_catalogue{3'600'000};  // TTL of the cached copy; 0: no catalogue
  std::chrono::milliseconds bybit_payment_catalogue_retry{30'000};
  // Rows older than these are deleted (nullopt: kept for ever).
  std::optional<std::chrono::seconds> offers_retention;     // OFFERS_RETENTION
  std::optional<std::chrono::seconds> telemetry_retention;  // TELEMETRY_RETENTION
  std::chrono::milliseconds retention_interval{300'000};    // RETENTION_INTERVAL_SECONDS
  std::size_t retention_batch_rows = 5000;                  // RETENTION_BATCH_ROWS

  // Throws svc::config::ConfigError naming the bad variable; appends the
  // effective values to `effective` (for --print-config).
  static AppSettings from_env(const svc::config::EnvLookup& env,
                              std::vector<svc::config::EnvReader::Effective>& effective);
  static const std::vector<svc::config::Variable>& variables();
};

// The application's variables, declared with their reading (lib's
// config::Section style), in --help order; from_env and variables() use it.
const svc::config::Section<AppSettings>& app_section();

// {"binance:USDT/VES:BUY", "bybit:USDT/VES:SELL"} (SCRAPE_TARGETS, split at
// commas); throws std::invalid_argument saying what is wrong with which entry.
std::vector<ScrapeTarget> parse_scrape_targets(const std::vector<std::string>& entries);

// "90s", "30m", "12h", "30d": a positive count and a unit, at most
// `max_seconds`; nullopt for anything else.
std::optional<std::chrono::seconds> parse_duration(std::string_view text, std::int64_t max_seconds);

// 2-10 characters of A-Z and 0-9 (fiat and asset codes).
bool is_currency_code(std::string_view code) noexcept;

}  // namespace p2p

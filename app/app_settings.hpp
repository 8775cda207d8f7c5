#pragma once
// The P2P application's own settings (exchange hosts, caches, scraper),
// read from the environment right after the service kit's Settings.

#include <chrono>
#include <string>
#include <vector>

#include "app/exchanges/offer.hpp"
#include "lib/config/env.hpp"

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

  // Throws svc::config::ConfigError naming the bad variable; appends the
  // effective values to `effective` (for --print-config).
  static AppSettings from_env(const svc::config::EnvLookup& env,
                              std::vector<svc::config::EnvReader::Effective>& effective);
  static const std::vector<svc::config::Variable>& variables();
};

// {"binance:USDT/VES:BUY", "bybit:USDT/VES:SELL"} (SCRAPE_TARGETS, split at
// commas); throws std::invalid_argument saying what is wrong with which entry.
std::vector<ScrapeTarget> parse_scrape_targets(const std::vector<std::string>& entries);

// 2-10 characters of A-Z and 0-9 (fiat and asset codes).
bool is_currency_code(std::string_view code) noexcept;

}  // namespace p2p

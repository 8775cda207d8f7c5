#pragma once
// The background scraper (SCRAPE_TARGETS): every SCRAPE_INTERVAL_SECONDS each
// target market is fetched and the batch stored, by one replica of however
// many run: each target has a lease (lib/pg/lease.hpp, "scrape:<target>"),
// and only its holder scrapes it, renewing the lease each time. The others
// look again when the lease would expire, so when the holder stops (it
// releases its leases) or dies (they expire) another takes over within
// interval + margin. The batch is stored in a transaction that commits only
// while the lease is still ours, so a holder that stalled past its lease
// never stores a round its successor also stores.
//
// An exchange that answers 429 is left alone, all its targets, for its
// Retry-After (capped), or without one for a doubling pause; the leases of
// those targets are kept through the pause, so no other replica asks it
// meanwhile. A failed target is logged and counted and never stops the
// loop. An optional component: stop() cancels a round in flight, waits for
// the loop to end and releases the leases it holds.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/app_settings.hpp"
#include "app/exchanges/exchange.hpp"
#include "lib/core/random.hpp"
#include "lib/lifecycle/background_loop.hpp"
#include "lib/lifecycle/component.hpp"

namespace spdlog {
class logger;
}

namespace svc::pg {
class LeaseTable;
}

namespace p2p {

class OfferStore;

class Scraper final : public svc::lifecycle::Component {
 public:
  using Clock = std::chrono::steady_clock;
  using ExchangeLookup = std::function<Exchange&(std::string_view name)>;
  // What one target of one round did, for telemetry and metrics.
  struct TargetOutcome {
    const ScrapeTarget& target;
    bool ok;
    Clock::duration duration;
    std::size_t stored;
    std::size_t skipped;
  };
  using Observer = std::function<void(const TargetOutcome&)>;

  struct Timing {
    std::chrono::milliseconds interval{60'000};  // SCRAPE_INTERVAL_SECONDS
    // A lease outlives its renewal by interval + margin: room for a slow
    // round, and the longest a dead holder's targets wait for a successor.
    std::chrono::milliseconds lease_margin{20'000};
    // The longest pause a 429 (its Retry-After, or our doubling) imposes.
    std::chrono::milliseconds max_pause{3'600'000};
  };

  Scraper(boost::asio::io_context& ioc, std::vector<ScrapeTarget> targets, Timing timing, ExchangeLookup exchanges,
          OfferStore& store, svc::pg::LeaseTable& leases, spdlog::logger& log);

  std::string_view name() const override { return "scraper"; }
  svc::lifecycle::Criticality criticality() const override { return svc::lifecycle::Criticality::optional; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // "scrape:binance:USDT/VES:BUY"
  static std::string lease_name(const ScrapeTarget& target);

  struct Stats {
    std::uint64_t rounds_total;
    std::uint64_t target_failures_total;
    std::uint64_t offers_stored_total;
    std::uint64_t offers_skipped_total;
  };
  Stats stats() const;
  // Seconds each exchange that rate-limited us is still left alone (0: not paused).
  std::map<std::string, double> pauses() const;

 private:
  struct Target {
    ScrapeTarget spec;
    std::string lease;
    Clock::time_point next{};  // the next visit
    bool held = false;         // as of the last visit
    std::string holder;        // last seen
    std::uint64_t rounds = 0;  // scraped by this process
  };
  // An exchange that answered 429: none of its targets is asked before `until`.
  struct Pause {
    Clock::time_point until{};
    unsigned strikes = 0;  // 429s in a row
  };

  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> visit(Target& target);
  boost::asio::awaitable<void> scrape(Target& target);
  // The lease for `ttl`; nullopt when the database could not say. Rethrows cancellation.
  boost::asio::awaitable<std::optional<bool>> claim(Target& target, std::chrono::milliseconds ttl);
  Clock::time_point paused_until(const std::string& exchange) const;
  std::chrono::milliseconds rate_limited(const std::string& exchange, std::optional<std::chrono::seconds> retry_after);
  void not_rate_limited(const std::string& exchange);

  std::vector<Target> targets_;  // background_'s strand only, once started
  Timing timing_;
  std::chrono::milliseconds lease_ttl_;
  ExchangeLookup exchanges_;
  OfferStore& store_;
  svc::pg::LeaseTable& leases_;
  spdlog::logger& log_;
  Observer observer_;
  svc::core::SplitMix64 jitter_;  // strand only

  mutable std::mutex pauses_mutex_;  // pauses_ only: /metrics reads it from any thread
  std::map<std::string, Pause> pauses_;

  svc::lifecycle::BackgroundLoop background_;  // loop() runs on its strand
  boost::asio::steady_timer timer_;            // background_'s strand only

  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> stored_{0};
  std::atomic<std::uint64_t> skipped_{0};
};

}  // namespace p2p

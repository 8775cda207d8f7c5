#pragma once
// The background scraper (SCRAPE_TARGETS): every SCRAPE_INTERVAL_SECONDS it
// fetches each target market and stores the batch. A failed target is logged
// and counted and never stops the loop. An optional component: stop()
// cancels a round in flight and waits for the loop to end.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/app_settings.hpp"
#include "lib/lifecycle/background_loop.hpp"
#include "app/exchanges/exchange.hpp"
#include "lib/lifecycle/component.hpp"

namespace spdlog {
class logger;
}

namespace p2p {

class OfferStore;

class Scraper final : public svc::lifecycle::Component {
 public:
  using ExchangeLookup = std::function<Exchange&(std::string_view name)>;
  // What one target of one round did, for telemetry and metrics.
  struct TargetOutcome {
    const ScrapeTarget& target;
    bool ok;
    std::chrono::steady_clock::duration duration;
    std::size_t stored;
    std::size_t skipped;
  };
  using Observer = std::function<void(const TargetOutcome&)>;

  Scraper(boost::asio::io_context& ioc, std::vector<ScrapeTarget> targets, std::chrono::milliseconds interval,
          ExchangeLookup exchanges, OfferStore& store, spdlog::logger& log);

  std::string_view name() const override { return "scraper"; }
  svc::lifecycle::Criticality criticality() const override { return svc::lifecycle::Criticality::optional; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  struct Stats {
    std::uint64_t rounds_total;
    std::uint64_t target_failures_total;
    std::uint64_t offers_stored_total;
    std::uint64_t offers_skipped_total;
  };
  Stats stats() const;

 private:
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> round(std::uint64_t number);

  std::vector<ScrapeTarget> targets_;
  std::chrono::milliseconds interval_;
  ExchangeLookup exchanges_;
  OfferStore& store_;
  spdlog::logger& log_;
  Observer observer_;

  svc::lifecycle::BackgroundLoop background_;  // loop() runs on its strand
  boost::asio::steady_timer timer_;  // background_'s strand only

  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> stored_{0};
  std::atomic<std::uint64_t> skipped_{0};
};

}  // namespace p2p

#pragma once
// Bybit's payment catalogue (payment id -> name) for naming Bybit offers,
// kept fresh in the background. An optional component: start() spawns a loop
// that fetches the catalogue at once and then whenever the copy is
// BYBIT_PAYMENT_CATALOGUE_SECONDS old (its TTL). A failed fetch keeps the last
// good copy (a name a day old beats "Bybit payment N") and is retried after
// BYBIT_PAYMENT_CATALOGUE_RETRY_SECONDS, doubling up to the TTL, jittered.
// stop() cancels the loop and waits for it; every fetch is bounded by the
// HTTP client's total timeout.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/exchanges/bybit.hpp"
#include "lib/core/async_event.hpp"
#include "lib/lifecycle/background_loop.hpp"
#include "lib/lifecycle/component.hpp"

namespace spdlog {
class logger;
}

namespace p2p {

struct ExchangeMetrics;

class BybitPaymentCatalogue final : public svc::lifecycle::Component {
 public:
  struct Settings {
    std::chrono::milliseconds ttl;         // a good copy is refreshed at this age
    std::chrono::milliseconds retry;       // first retry after a failure
    std::chrono::milliseconds first_wait;  // names() waits this long for the first fetch
  };

  BybitPaymentCatalogue(boost::asio::io_context& ioc, Bybit& bybit, Settings settings, ExchangeMetrics& metrics,
                        spdlog::logger& log);

  std::string_view name() const override { return "bybit-payment-catalogue"; }
  svc::lifecycle::Criticality criticality() const override { return svc::lifecycle::Criticality::optional; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

  // The last good copy, nullptr before the first. Until the first fetch has
  // ended (well or not), waits for it up to Settings::first_wait, so that
  // offers fetched right after start-up are named too. Any thread.
  boost::asio::awaitable<std::shared_ptr<const PaymentNames>> names();
  std::shared_ptr<const PaymentNames> current() const;

 private:
  boost::asio::awaitable<void> loop();
  // Fetches and installs a copy; the reason when it could not.
  boost::asio::awaitable<std::optional<std::string>> refresh(std::uint64_t attempt);
  void first_fetch_ended();      // releases names() waiting for the first fetch
  std::string fallback() const;  // what names offers while fetches fail, for the log line

  Bybit& bybit_;
  Settings settings_;
  ExchangeMetrics& metrics_;
  spdlog::logger& log_;

  mutable std::mutex mutex_;
  std::shared_ptr<const PaymentNames> names_;         // mutex_
  std::chrono::steady_clock::time_point fetched_at_;  // mutex_
  std::atomic<bool> first_done_{false};
  svc::core::AsyncEvent first_attempt_;

  svc::lifecycle::BackgroundLoop background_;  // loop() runs on its strand
  boost::asio::steady_timer timer_;            // background_'s strand only
};

}  // namespace p2p

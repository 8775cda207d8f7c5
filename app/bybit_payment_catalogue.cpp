#include "app/bybit_payment_catalogue.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

#include "app/exchanges/exchange_metrics.hpp"
#include "lib/core/backoff.hpp"

namespace p2p {

namespace asio = boost::asio;

namespace {

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

BybitPaymentCatalogue::BybitPaymentCatalogue(asio::io_context& ioc, Bybit& bybit, Settings settings,
                                             ExchangeMetrics& metrics, spdlog::logger& log)
    : bybit_(bybit),
      settings_(settings),
      metrics_(metrics),
      log_(log),
      first_attempt_(ioc.get_executor()),
      background_(ioc, "bybit payment catalogue", "the last copy is kept, never refreshed", log),
      timer_(background_.strand()) {}

asio::awaitable<void> BybitPaymentCatalogue::start() {
  // Whoever waits for the first fetch is released however the loop ends.
  co_await background_.start([this] { return loop(); }, [this] { first_fetch_ended(); });
}

asio::awaitable<void> BybitPaymentCatalogue::stop() { co_await background_.stop(); }

void BybitPaymentCatalogue::first_fetch_ended() {
  first_done_.store(true, std::memory_order_release);
  first_attempt_.set();
}

std::shared_ptr<const PaymentNames> BybitPaymentCatalogue::current() const {
  std::lock_guard lock(mutex_);
  return names_;
}

asio::awaitable<std::shared_ptr<const PaymentNames>> BybitPaymentCatalogue::names() {
  if (!first_done_.load(std::memory_order_acquire)) co_await first_attempt_.wait_for(settings_.first_wait);
  co_return current();
}

asio::awaitable<std::optional<std::string>> BybitPaymentCatalogue::refresh(std::uint64_t attempt) {
  // Named, not a temporary in the co_await: see Scraper::round.
  const CallContext call{std::string("catalogue-").append(std::to_string(attempt)), {}};
  std::optional<std::string> failure;
  try {
    auto names = std::make_shared<const PaymentNames>(co_await bybit_.payment_names(call));
    const auto entries = names->size();
    {
      std::lock_guard lock(mutex_);
      names_ = std::move(names);
      fetched_at_ = std::chrono::steady_clock::now();
    }
    metrics_.catalogue_refreshes.with({"ok"}).inc();
    metrics_.catalogue_entries.set(static_cast<double>(entries));
    metrics_.catalogue_last_success.set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    log_.info("bybit payment catalogue: {} names; next refresh in {} s", entries, seconds(settings_.ttl));
  } catch (const UpstreamError& e) {
    failure = e.what();
    metrics_.catalogue_refreshes.with({"error"}).inc();
  }
  co_return failure;
}

std::string BybitPaymentCatalogue::fallback() const {
  std::lock_guard lock(mutex_);
  if (!names_) return "payment ids are named \"Bybit payment N\" until one arrives";
  const auto age = static_cast<long long>(seconds(std::chrono::steady_clock::now() - fetched_at_));
  return "serving the last good copy (" + std::to_string(names_->size()) + " names, " + std::to_string(age) +
         " s old)";
}

asio::awaitable<void> BybitPaymentCatalogue::loop() {
  // Terminal cancellation (stop) ends the loop at whichever await it is in.
  svc::core::Backoff backoff(std::min(settings_.retry, settings_.ttl), settings_.ttl);
  for (std::uint64_t attempt = 1;; ++attempt) {
    const auto failure = co_await refresh(attempt);
    first_fetch_ended();
    std::chrono::steady_clock::duration delay = settings_.ttl;
    if (failure) {
      delay = backoff.next();
      log_.warn("bybit payment catalogue refresh failed: {}; {}; retry in {:.1f} s", *failure, fallback(),
                seconds(delay));
    } else {
      backoff.reset();
    }
    timer_.expires_after(delay);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled by stop()
  }
}

}  // namespace p2p

#include "app/scraper.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

#include "app/offer_store.hpp"

namespace p2p {

namespace asio = boost::asio;

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

bool cancelled(const boost::system::system_error& e) { return e.code() == asio::error::operation_aborted; }

}  // namespace

Scraper::Scraper(asio::io_context& ioc, std::vector<ScrapeTarget> targets, std::chrono::milliseconds interval,
                 ExchangeLookup exchanges, OfferStore& store, spdlog::logger& log)
    : targets_(std::move(targets)),
      interval_(interval),
      exchanges_(std::move(exchanges)),
      store_(store),
      log_(log),
      background_(ioc, "scraper", "scraping stops", log),
      timer_(background_.strand()) {}

asio::awaitable<void> Scraper::start() {
  co_await background_.start([this] { return loop(); });
  log_.info("scraper started: {} target(s) every {} s", targets_.size(), interval_.count() / 1000.0);
}

asio::awaitable<void> Scraper::stop() {
  if (!co_await background_.stop()) co_return;
  auto s = stats();
  log_.info("scraper stopped after {} round(s): {} offers stored, {} skipped, {} target failures", s.rounds_total,
            s.offers_stored_total, s.offers_skipped_total, s.target_failures_total);
}

Scraper::Stats Scraper::stats() const {
  return {rounds_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed),
          stored_.load(std::memory_order_relaxed), skipped_.load(std::memory_order_relaxed)};
}

asio::awaitable<void> Scraper::loop() {
  // Terminal cancellation (stop) ends the loop at whichever await it is in:
  // operation_aborted, which the completion handler expects.
  for (std::uint64_t number = 1;; ++number) {
    const auto started = std::chrono::steady_clock::now();
    co_await round(number);
    timer_.expires_at(started + interval_);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled by stop()
  }
}

asio::awaitable<void> Scraper::round(std::uint64_t number) {
  // A named CallContext, not a temporary in the co_await: GCC 12 destroys
  // such temporaries twice when the awaited call throws.
  const CallContext call{std::string("scrape-").append(std::to_string(number)), {}};
  for (const auto& target : targets_) {
    const auto started = std::chrono::steady_clock::now();
    FetchResult fetched;
    std::size_t stored = 0;
    std::string failure;
    bool stopping = false;
    try {
      Exchange& exchange = exchanges_(target.exchange);
      fetched = co_await exchange.fetch_offers(target.market, call);
      auto rows = co_await store_.save(fetched.offers);
      stored = rows.size();
    } catch (const boost::system::system_error& e) {
      if (cancelled(e)) stopping = true;
      failure = e.what();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (stopping) {
      log_.info("scraper round {}: {} {}/{} {} cancelled by shutdown", number, target.exchange, target.market.asset,
                target.market.fiat, target.market.trade_type);
      throw boost::system::system_error(asio::error::operation_aborted);
    }
    const bool ok = failure.empty();
    skipped_.fetch_add(fetched.skipped, std::memory_order_relaxed);
    stored_.fetch_add(stored, std::memory_order_relaxed);
    if (ok) {
      log_.info("scraper round {}: {} {}/{} {}: stored {} offers, skipped {} in {:.0f} ms", number, target.exchange,
                target.market.asset, target.market.fiat, target.market.trade_type, stored, fetched.skipped,
                ms_since(started));
    } else {
      failures_.fetch_add(1, std::memory_order_relaxed);
      log_.warn("scraper round {}: {} {}/{} {} failed: {}; next round in {} s", number, target.exchange,
                target.market.asset, target.market.fiat, target.market.trade_type, failure, interval_.count() / 1000.0);
    }
    if (observer_) observer_({target, ok, std::chrono::steady_clock::now() - started, stored, fetched.skipped});
  }
  rounds_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace p2p

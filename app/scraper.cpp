#include "app/scraper.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

#include "app/offer_store.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/lease.hpp"

namespace p2p {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Standbys look again when the holder's lease would end, plus up to this,
// so that they do not all ask in the same millisecond.
constexpr milliseconds kStandbyJitter{50};
// When the database could not say who holds a target: look again within this.
constexpr milliseconds kUnknownRetry{1'000};
// A release at shutdown that takes longer is left to expire instead.
constexpr milliseconds kReleaseDeadline{1'000};

double ms_since(Scraper::Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Scraper::Clock::now() - start).count();
}

double seconds(milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

bool cancelled(const boost::system::system_error& e) { return e.code() == asio::error::operation_aborted; }

std::string describe(const ScrapeTarget& t) {
  std::string out = t.exchange;
  out.append(" ").append(t.market.asset).append("/").append(t.market.fiat).append(" ").append(t.market.trade_type);
  return out;
}

}  // namespace

Scraper::Scraper(asio::io_context& ioc, std::vector<ScrapeTarget> targets, Timing timing, ExchangeLookup exchanges,
                 OfferStore& store, svc::pg::LeaseTable& leases, spdlog::logger& log)
    : timing_(timing),
      lease_ttl_(timing.interval + timing.lease_margin),
      exchanges_(std::move(exchanges)),
      store_(store),
      leases_(leases),
      log_(log),
      jitter_(svc::core::SplitMix64::from_entropy()),
      background_(ioc, "scraper", "scraping stops", log),
      timer_(background_.strand()) {
  for (auto& spec : targets) {
    Target t;
    t.lease = lease_name(spec);
    t.spec = std::move(spec);
    targets_.push_back(std::move(t));
  }
}

std::string Scraper::lease_name(const ScrapeTarget& t) {
  std::string name = "scrape:";
  name.append(t.exchange).append(":").append(t.market.asset).append("/").append(t.market.fiat).append(":");
  return name.append(t.market.trade_type);
}

asio::awaitable<void> Scraper::start() {
  co_await background_.start([this] { return loop(); });
  log_.info("scraper started: {} target(s) every {} s, each by whichever replica holds its lease (for {} s after "
            "each renewal) as {}",
            targets_.size(), seconds(timing_.interval), seconds(lease_ttl_), leases_.holder());
}

asio::awaitable<void> Scraper::stop() {
  const bool was_running = co_await background_.stop();
  if (!was_running) co_return;
  // On the loop's strand: the targets are its state (even if it did not unwind in time).
  co_await asio::dispatch(background_.strand(), asio::use_awaitable);
  // Hand our targets over when their next round is due rather than when
  // their leases expire; not sooner: a successor that took a target at once
  // would scrape it twice within one interval (right after our last round).
  std::vector<std::string> held;
  auto due = Clock::now();
  for (const auto& t : targets_) {
    if (!t.held) continue;
    held.push_back(t.lease);
    due = std::max(due, t.next);
  }
  std::size_t released = 0;
  try {
    released = co_await leases_.release(held, kReleaseDeadline, std::chrono::ceil<milliseconds>(due - Clock::now()));
  } catch (const std::exception& e) {
    log_.warn("scraper: releasing {} lease(s) failed: {}; they expire within {} s", held.size(), e.what(),
              seconds(lease_ttl_));
  }
  auto s = stats();
  log_.info("scraper stopped after {} round(s): {} offers stored, {} skipped, {} target failures; {} lease(s) released",
            s.rounds_total, s.offers_stored_total, s.offers_skipped_total, s.target_failures_total, released);
}

Scraper::Stats Scraper::stats() const {
  return {rounds_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed),
          stored_.load(std::memory_order_relaxed), skipped_.load(std::memory_order_relaxed)};
}

std::map<std::string, double> Scraper::pauses() const {
  const auto now = Clock::now();
  std::lock_guard lock(pauses_mutex_);
  std::map<std::string, double> out;
  for (const auto& [exchange, p] : pauses_)
    out[exchange] = p.until > now ? std::chrono::duration<double>(p.until - now).count() : 0.0;
  return out;
}

Scraper::Clock::time_point Scraper::paused_until(const std::string& exchange) const {
  std::lock_guard lock(pauses_mutex_);
  const auto it = pauses_.find(exchange);
  return it == pauses_.end() ? Clock::time_point{} : it->second.until;
}

// With a Retry-After, exactly what the exchange asks; without, the interval
// doubled per 429 in a row. Never longer than max_pause.
milliseconds Scraper::rate_limited(const std::string& exchange, std::optional<std::chrono::seconds> retry_after) {
  std::lock_guard lock(pauses_mutex_);
  Pause& p = pauses_[exchange];
  p.strikes = std::min(p.strikes + 1, 16u);
  milliseconds pause = retry_after ? milliseconds(*retry_after) : timing_.interval * (1 << p.strikes);
  pause = std::min(pause, timing_.max_pause);
  p.until = Clock::now() + pause;
  return pause;
}

void Scraper::not_rate_limited(const std::string& exchange) {
  std::lock_guard lock(pauses_mutex_);
  const auto it = pauses_.find(exchange);
  if (it != pauses_.end()) it->second.strikes = 0;
}

asio::awaitable<void> Scraper::loop() {
  // Terminal cancellation (stop) ends the loop at whichever await it is in:
  // operation_aborted, which the completion handler expects. Targets are
  // visited one at a time, in order, each when it is due.
  for (;;) {
    for (auto& t : targets_)
      if (t.next <= Clock::now()) co_await visit(t);
    auto wake = Clock::time_point::max();
    for (const auto& t : targets_) wake = std::min(wake, t.next);
    timer_.expires_at(wake);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled by stop()
  }
}

asio::awaitable<std::optional<bool>> Scraper::claim(Target& t, milliseconds ttl) {
  std::optional<svc::pg::LeaseState> lease;
  std::string failure;
  try {
    lease = co_await leases_.acquire(t.lease, ttl);
  } catch (const svc::pg::PgError& e) {
    if (e.code_value() == svc::pg::errc::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
    failure = e.what();
  }
  if (!lease) {
    log_.warn("scraper: {}: cannot tell who holds it: {}; trying again in {} s", describe(t.spec), failure,
              seconds(timing_.interval));
    t.held = false;
    co_return std::nullopt;
  }
  if (lease->held && !t.held) {
    log_.info("scraper: took the lease of {}; scraping it every {} s", describe(t.spec), seconds(timing_.interval));
  } else if (!lease->held && (t.held || t.holder != lease->holder)) {
    log_.info("scraper: {} is scraped by {}{}", describe(t.spec), lease->holder.empty() ? "another replica" : lease->holder,
              t.held ? "; this replica lost its lease" : "");
  }
  t.held = lease->held;
  t.holder = lease->holder;
  if (!lease->held) {
    const auto wait = lease->holder.empty() ? std::min(kUnknownRetry, timing_.interval) : lease->remaining;
    t.next = Clock::now() + wait + milliseconds(static_cast<long>(jitter_.unit() * kStandbyJitter.count()));
  }
  co_return lease->held;
}

asio::awaitable<void> Scraper::visit(Target& t) {
  const auto started = Clock::now();
  const auto paused = paused_until(t.spec.exchange);
  if (paused > started) {
    // The exchange asked us to wait: keep the lease through the pause, so
    // that no other replica asks in our place meanwhile.
    if (t.held) co_await claim(t, std::chrono::ceil<milliseconds>(paused - started) + lease_ttl_);
    t.next = std::max(paused, t.next);
    co_return;
  }
  const auto held = co_await claim(t, lease_ttl_);
  if (!held) {
    t.next = started + timing_.interval;
    co_return;
  }
  if (!*held) co_return;  // claim() set when to look again
  co_await scrape(t);
  const auto pause_end = paused_until(t.spec.exchange);
  const auto now = Clock::now();
  // Rate-limited just now: the lease must outlast the pause, or another
  // replica would take it before our next visit and ask in our place.
  if (t.held && pause_end > now) co_await claim(t, std::chrono::ceil<milliseconds>(pause_end - now) + lease_ttl_);
  t.next = std::max(started + timing_.interval, pause_end);
}

asio::awaitable<void> Scraper::scrape(Target& t) {
  const auto number = ++t.rounds;
  const auto& target = t.spec;
  // A named CallContext, not a temporary in the co_await: GCC 12 destroys
  // such temporaries twice when the awaited call throws.
  const CallContext call{std::string("scrape-").append(std::to_string(number)), {}};
  const auto started = Clock::now();
  FetchResult fetched;
  std::optional<OfferRows> rows;
  std::string failure;
  std::optional<milliseconds> pause;
  bool stopping = false;
  try {
    Exchange& exchange = exchanges_(target.exchange);
    fetched = co_await exchange.fetch_offers(target.market, call);
    not_rate_limited(target.exchange);
    rows = co_await store_.save_guarded(fetched.offers, leases_.guard(t.lease));
  } catch (const UpstreamError& e) {
    failure = e.what();
    if (e.rate_limited()) pause = rate_limited(target.exchange, e.retry_after());
  } catch (const svc::pg::PgError& e) {
    stopping = e.code_value() == svc::pg::errc::cancelled;
    failure = e.what();
  } catch (const boost::system::system_error& e) {
    if (cancelled(e)) stopping = true;
    failure = e.what();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (stopping) {
    log_.info("scraper round {}: {} cancelled by shutdown", number, describe(target));
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  if (failure.empty() && !rows) {
    // Our lease ended while we fetched (a stall longer than it): the
    // successor stores this round, not us.
    t.held = false;
    leases_.forget(t.lease);
    failure = "lost its lease during the round; " + std::to_string(fetched.offers.size()) + " offers not stored";
  }
  const std::size_t stored = rows ? rows->size() : 0;
  const bool ok = failure.empty();
  rounds_.fetch_add(1, std::memory_order_relaxed);
  skipped_.fetch_add(fetched.skipped, std::memory_order_relaxed);
  stored_.fetch_add(stored, std::memory_order_relaxed);
  if (ok) {
    log_.info("scraper round {}: {}: stored {} offers, skipped {} in {:.0f} ms", number, describe(target), stored,
              fetched.skipped, ms_since(started));
  } else if (pause) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    log_.warn("scraper round {}: {} rate-limited: {}; no {} target is asked for {} s", number, describe(target),
              failure, target.exchange, seconds(*pause));
  } else {
    failures_.fetch_add(1, std::memory_order_relaxed);
    log_.warn("scraper round {}: {} failed: {}; next round in {} s", number, describe(target), failure,
              seconds(timing_.interval));
  }
  if (observer_) observer_({target, ok, Clock::now() - started, stored, fetched.skipped});
}

}  // namespace p2p

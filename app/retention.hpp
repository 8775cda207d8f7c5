#pragma once
// Retention (OFFERS_RETENTION, TELEMETRY_RETENTION): every
// RETENTION_INTERVAL_SECONDS, offers and telemetry events older than their
// retention are deleted in batches of RETENTION_BATCH_ROWS, each batch one
// short statement (short locks, WAL and vacuum spread out, nothing else
// waits long). One replica at a time does it: the one holding the
// "retention" lease (lib/pg/lease.hpp), renewed between batches, as the
// scraper does. Deleting an offer deletes its offer_payment_methods links
// (ON DELETE CASCADE); payment methods themselves stay (later offers name
// them). Why batches and not daily partitions of telemetry_events:
// docs/database.md, "Retention". An optional component.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "lib/lifecycle/background_loop.hpp"
#include "lib/lifecycle/component.hpp"
#include "lib/telemetry/metrics.hpp"

namespace spdlog {
class logger;
}

namespace svc::pg {
class LeaseTable;
class Pool;
}  // namespace svc::pg

namespace p2p {

class Retention final : public svc::lifecycle::Component {
 public:
  struct Settings {
    std::optional<std::chrono::seconds> offers;     // nullopt: kept
    std::optional<std::chrono::seconds> telemetry;  // nullopt: kept
    std::chrono::milliseconds interval{300'000};
    std::size_t batch_rows = 5000;
    // The lease outlives its renewal by interval + margin (at least one
    // batch's statement deadline): how long a dead holder's job waits.
    std::chrono::milliseconds lease_margin{10'000};
  };
  static constexpr std::string_view kLease = "retention";

  Retention(boost::asio::io_context& ioc, Settings settings, svc::pg::Pool& pool, svc::pg::LeaseTable& leases,
            svc::telemetry::Registry& metrics, spdlog::logger& log);

  std::string_view name() const override { return "retention"; }
  svc::lifecycle::Criticality criticality() const override { return svc::lifecycle::Criticality::optional; }
  bool enabled() const noexcept { return settings_.offers || settings_.telemetry; }
  boost::asio::awaitable<void> start() override;
  boost::asio::awaitable<void> stop() override;

 private:
  struct Table {
    std::string name;  // for logs and metrics
    std::chrono::seconds keep;
    std::string delete_sql;  // one batch
  };

  boost::asio::awaitable<void> loop();
  // One run: false when the lease is someone else's (or could not be had).
  boost::asio::awaitable<bool> run_once(std::uint64_t number);
  boost::asio::awaitable<bool> renew();

  Settings settings_;
  svc::pg::Pool& pool_;
  svc::pg::LeaseTable& leases_;
  spdlog::logger& log_;
  std::vector<Table> tables_;
  bool held_ = false;   // background_'s strand only
  std::string holder_;  // last seen; likewise
  svc::telemetry::Family<svc::telemetry::Counter>& deleted_;
  svc::telemetry::Family<svc::telemetry::Counter>& runs_;
  svc::lifecycle::BackgroundLoop background_;
  boost::asio::steady_timer timer_;  // background_'s strand only
};

}  // namespace p2p

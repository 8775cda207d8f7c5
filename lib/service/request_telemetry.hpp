#pragma once
// The HTTP server's requests in telemetry: metrics (duration by method,
// route template and status; active requests; body sizes, as OTel's
// http.server.* in Prometheus form), one event per request (awaited before
// the response when TELEMETRY_ASYNC_WRITES=false), and the access log line
// when ACCESS_LOG is on. The server sees only http::RequestObserver.

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "lib/events/writer.hpp"
#include "lib/http/request_observer.hpp"
#include "lib/telemetry/metrics.hpp"

namespace spdlog {
class logger;
}

namespace svc::service {

// The method as a label and in events: one of HTTP's own methods, or "_OTHER".
// (The access log keeps the method as sent.)
std::string_view method_label(std::string_view method) noexcept;

struct HttpServerMetrics {
  explicit HttpServerMetrics(telemetry::Registry& r);
  telemetry::Family<telemetry::Histogram>& duration;       // {http_request_method, http_route, http_response_status_code}
  telemetry::Gauge& active;                                // http_server_active_requests
  telemetry::Family<telemetry::Histogram>& request_size;   // {http_request_method, http_route}
  telemetry::Family<telemetry::Histogram>& response_size;  // {http_request_method, http_route}
};

// The three histograms a request records into, for each (method, route,
// status) seen: one lookup per request instead of one per family (each
// hashes and compares its label values). Lookups are loads only; a new
// label set is added under a mutex, once. Holds at most kMaxEntries label
// sets; past that, it asks the families each time (they bound themselves).
class HttpServerCells {
 public:
  struct Cells {
    telemetry::Histogram* duration;
    telemetry::Histogram* request_size;
    telemetry::Histogram* response_size;
  };
  static constexpr std::size_t kSlots = 512;
  static constexpr std::size_t kMaxEntries = kSlots / 2;

  explicit HttpServerCells(HttpServerMetrics& metrics) : metrics_(metrics) {}
  // `method` as method_label() gives it. Throws only on allocation failure.
  Cells find_or_add(std::string_view method, std::string_view route, unsigned status);

 private:
  struct Entry {
    std::string method;
    std::string route;
    unsigned status;
    Cells cells;
  };
  Cells from_families(std::string_view method, std::string_view route, std::string_view status) const;

  HttpServerMetrics& metrics_;
  std::array<std::atomic<const Entry*>, kSlots> slots_{};
  std::mutex mutex_;                           // insertions only
  std::vector<std::unique_ptr<Entry>> owned_;  // mutex_
};

class RequestTelemetry final : public http::RequestObserver {
 public:
  // `events`: null when events are off (metrics and the access log still are).
  RequestTelemetry(telemetry::Registry& metrics, events::Writer* events, bool access_log, spdlog::logger& log);

  void started() noexcept override;
  bool waits_before_write() const noexcept override;
  boost::asio::awaitable<void> before_write(const http::ObservedRequest& request) override;
  void finished(const http::ObservedRequest& request) noexcept override;

 private:
  events::Event event_of(const http::ObservedRequest& request) const noexcept;

  HttpServerMetrics http_;
  HttpServerCells cells_{http_};
  events::Writer* events_;
  bool access_log_;
  spdlog::logger& log_;
};

}  // namespace svc::service

#pragma once
// The HTTP server's requests in telemetry: metrics (duration by method,
// route template and status; active requests; body sizes, as OTel's
// http.server.* in Prometheus form), one event per request (awaited before
// the response when TELEMETRY_ASYNC_WRITES=false), and the access log line
// when ACCESS_LOG is on. The server sees only http::RequestObserver.

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
  events::Writer* events_;
  bool access_log_;
  spdlog::logger& log_;
};

}  // namespace svc::service

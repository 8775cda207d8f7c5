#pragma once
// What the adapters share to call their exchange: the HTTP client, the base
// URL, the logger, and one way to ask: POST a JSON body, get the response
// body back, or an UpstreamError carrying the client's reason.

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "app/exchanges/exchange.hpp"

namespace spdlog {
class logger;
}

namespace svc::http {
class Client;
}
namespace p2p {

struct ExchangeMetrics;
class ExchangeTelemetry;

class HttpExchange : public Exchange {
 public:
  // `client` and `log` must outlive the adapter. base_url is the exchange's
  // origin, e.g. "https://p2p.binance.com" (or the replay exchange's URL);
  // a trailing '/' is dropped.
  HttpExchange(svc::http::Client& client, std::string base_url, spdlog::logger& log);
  // Every call is then recorded (upstream metrics and a telemetry event).
  void set_telemetry(ExchangeTelemetry* telemetry) noexcept { telemetry_ = telemetry; }
  // What mapping notes about fetched offers is then counted.
  void set_metrics(ExchangeMetrics* metrics) noexcept { metrics_ = metrics; }

 protected:
  // POSTs `json_body` to base_url + path with X-Request-ID and traceparent
  // from `ctx` when they are set. Every exchange call made this way is a read
  // (a search, a config list), so it is marked retry-safe.
  // svc::http::ClientError becomes UpstreamError with the same message and
  // timed_out(); cancellation propagates unchanged.
  boost::asio::awaitable<std::string> post(std::string_view path, std::string json_body, const CallContext& ctx);
  // The result, its notes counted (when metrics are set).
  FetchResult counted(FetchResult result) const;

  spdlog::logger& log_;

 private:
  void record(std::string_view path, std::string_view outcome, std::chrono::steady_clock::time_point started,
              const CallContext& ctx) const noexcept;
  svc::http::Client& client_;
  std::string base_url_;
  ExchangeTelemetry* telemetry_ = nullptr;
  ExchangeMetrics* metrics_ = nullptr;
};

}  // namespace p2p

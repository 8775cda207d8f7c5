#include "app/exchanges/exchange_http.hpp"

#include <boost/system/system_error.hpp>

#include "app/exchanges/exchange_metrics.hpp"
#include "app/exchanges/exchange_telemetry.hpp"
#include "lib/http/client.hpp"

namespace p2p {

HttpExchange::HttpExchange(svc::http::Client& client, std::string base_url, spdlog::logger& log)
    : log_(log), client_(client), base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

void HttpExchange::record(std::string_view path, std::string_view outcome,
                          std::chrono::steady_clock::time_point started, const CallContext& ctx) const noexcept {
  if (telemetry_ == nullptr) return;
  // traceparent = "00-<trace id: 32 hex>-<parent id>-<flags>"
  const std::string_view trace_id =
      ctx.traceparent.size() >= 35 ? std::string_view(ctx.traceparent).substr(3, 32) : std::string_view{};
  telemetry_->record_upstream({name(), path, outcome, std::chrono::steady_clock::now() - started, ctx.request_id,
                               trace_id});
}

FetchResult HttpExchange::counted(FetchResult result) const {
  if (metrics_ != nullptr) metrics_->record(name(), result.notes);
  return result;
}

boost::asio::awaitable<std::string> HttpExchange::post(std::string_view path, std::string json_body,
                                                       const CallContext& ctx) {
  svc::http::ClientRequest request;
  request.method = svc::http::Verb::post;
  request.url.append(base_url_).append(path);
  if (!ctx.request_id.empty()) request.headers.emplace_back("X-Request-ID", ctx.request_id);
  if (!ctx.traceparent.empty()) request.headers.emplace_back("traceparent", ctx.traceparent);
  request.body = std::move(json_body);
  request.content_type = "application/json";
  request.retry_safe = true;

  const auto started = std::chrono::steady_clock::now();
  std::string outcome = "ok";
  svc::http::ClientResponse response;
  std::optional<UpstreamError> failure;
  try {
    response = co_await client_.send(std::move(request));
  } catch (const svc::http::ClientError& e) {
    outcome = e.phase() == svc::http::ClientPhase::status ? std::string("http_").append(std::to_string(e.status()))
                                                            : std::string(svc::http::to_string(e.phase()));
    failure.emplace(e.what(), e.timed_out(), e.phase() == svc::http::ClientPhase::status ? e.status() : 0,
                    e.retry_after());
  } catch (const boost::system::system_error&) {
    record(path, "cancelled", started, ctx);
    throw;
  }
  record(path, outcome, started, ctx);
  if (failure) throw *failure;
  co_return std::move(response.body);
}

}  // namespace p2p

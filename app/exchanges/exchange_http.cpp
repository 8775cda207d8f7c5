#include "app/exchanges/exchange_http.hpp"

#include "lib/http/client.hpp"

namespace p2p {

HttpExchange::HttpExchange(svc::http::Client& client, std::string base_url, spdlog::logger& log)
    : log_(log), client_(client), base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
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

  svc::http::ClientResponse response;
  try {
    response = co_await client_.send(std::move(request));
  } catch (const svc::http::ClientError& e) {
    throw UpstreamError(e.what(), e.timed_out());
  }
  co_return std::move(response.body);
}

}  // namespace p2p

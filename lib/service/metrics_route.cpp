#include "lib/service/metrics_route.hpp"

namespace svc::service {

void add_metrics_route(http::Router& router, const telemetry::Registry& registry) {
  router.add(http::Verb::get, "/metrics", [&registry](http::RequestContext&) -> boost::asio::awaitable<http::Response> {
    co_return http::text_response(http::Status::ok, registry.expose(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace svc::service

#include "lib/service/metrics_route.hpp"

#include <boost/json/object.hpp>

namespace svc::service {

void add_metrics_route(http::Router& router, const telemetry::Registry& registry) {
  http::RouteDoc doc{"Prometheus metrics",
                     "The text exposition format 0.0.4; no API key, for scrapers.",
                     {"observability"},
                     false,
                     {},
                     {{200, "Every metric family.", boost::json::object{{"type", "string"}}, "text/plain"}}};
  router.add(http::Verb::get, "/metrics", std::move(doc), [&registry](http::RequestContext&) -> boost::asio::awaitable<http::Response> {
    co_return http::text_response(http::Status::ok, registry.expose(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace svc::service

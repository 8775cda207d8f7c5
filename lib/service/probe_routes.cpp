#include "lib/service/probe_routes.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "lib/http/query.hpp"

namespace svc::service {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Response;
using http::Status;

namespace {

// Kubernetes style: "[+]database ok" / "[-]database failed: why".
Response verbose_report(const lifecycle::Readiness::Report& report) {
  std::string text;
  for (const auto& entry : report.checks) {
    bool ok = entry.result.status != lifecycle::CheckResult::Status::failed;
    text += ok ? "[+]" : "[-]";
    text += entry.name;
    text += ' ';
    text += to_string(entry.result.status);
    if (!entry.result.detail.empty()) text += ": " + entry.result.detail;
    text += '\n';
  }
  if (report.ready) {
    text += "readyz check passed\n";
  } else {
    text += report.detail + "\nreadyz check failed\n";
  }
  return http::text_response(report.ready ? Status::ok : Status::service_unavailable, std::move(text));
}

Response json_report(const lifecycle::Readiness::Report& report) {
  if (!report.ready)
    return http::json_response(Status::service_unavailable,
                               json::object{{"status", "not ready"}, {"detail", report.detail}});
  json::object checks;
  for (const auto& entry : report.checks) checks[entry.name] = to_string(entry.result.status);
  return http::json_response(Status::ok, json::object{{"status", "ready"}, {"checks", std::move(checks)}});
}

}  // namespace

void add_probe_routes(http::Router& router, const lifecycle::Readiness& readiness) {
  // Serialized once: probes and load balancers call this constantly.
  auto live = [body = json::serialize(json::object{{"status", "ok"}})](http::RequestContext&)
      -> asio::awaitable<Response> { co_return http::text_response(Status::ok, body, "application/json"); };
  router.add(http::Verb::get, "/health", live);
  router.add(http::Verb::get, "/livez", live);

  auto ready = [&readiness](http::RequestContext& ctx) -> asio::awaitable<Response> {
    http::QueryParams query(ctx.query);
    auto report = co_await readiness.evaluate();
    co_return query.has("verbose") ? verbose_report(report) : json_report(report);
  };
  router.add(http::Verb::get, "/ready", ready);
  router.add(http::Verb::get, "/readyz", ready);
}

}  // namespace svc::service

#include "lib/service/probe_routes.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
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

const http::ParamSpec& verbose_param() {
  static const auto spec = http::ParamSpec::flag("verbose").describe(
      "Present (with any value or none): answer in text, one `[+]`/`[-]` line per check, as Kubernetes does.");
  return spec;
}

http::RouteDoc live_doc(std::string summary) {
  return {std::move(summary),
          "Liveness: the process serves. Never touches a dependency, so a database outage never restarts a pod.",
          {"probes"},
          false,
          {},
          {{200, "Alive: `{\"status\":\"ok\"}`.",
            json::parse(R"({"type":"object","required":["status"],"properties":{"status":{"const":"ok"}}})")}}};
}

http::RouteDoc ready_doc(std::string summary) {
  const auto schema = [](std::string_view status) {
    return json::parse(R"({"type":"object","required":["status"],"properties":{"status":{"const":")" +
                       std::string(status) +
                       R"("},"checks":{"type":"object","additionalProperties":{"type":"string"}},)"
                       R"("detail":{"type":"string"}}})");
  };
  return {std::move(summary),
          "Readiness: started, not draining, and every critical dependency up.",
          {"probes"},
          false,
          {verbose_param()},
          {{200, "Ready.", schema("ready")},
           {200, "", json::object{{"type", "string"}}, "text/plain"},
           {503, "Starting, draining or a critical dependency down.", schema("not ready")},
           {503, "", json::object{{"type", "string"}}, "text/plain"}}};
}

}  // namespace

void add_probe_routes(http::Router& router, const lifecycle::Readiness& readiness) {
  // Serialized once: probes and load balancers call this constantly.
  auto live = [body = json::serialize(json::object{{"status", "ok"}})](http::RequestContext&)
      -> asio::awaitable<Response> { co_return http::text_response(Status::ok, body, "application/json"); };
  router.add(http::Verb::get, "/health", live_doc("Liveness (FastAPI seeds' name)"), live);
  router.add(http::Verb::get, "/livez", live_doc("Liveness (Kubernetes' name)"), live);

  auto ready = [&readiness](http::RequestContext& ctx) -> asio::awaitable<Response> {
    http::QueryParams query(ctx);
    const bool verbose = query.flag(verbose_param());
    auto report = co_await readiness.evaluate();
    co_return verbose ? verbose_report(report) : json_report(report);
  };
  router.add(http::Verb::get, "/ready", ready_doc("Readiness (FastAPI seeds' name)"), ready);
  router.add(http::Verb::get, "/readyz", ready_doc("Readiness (Kubernetes' name)"), ready);
}

}  // namespace svc::service

#pragma once
// The service's route table as patterns (app/offer_routes.cpp, app/routes.cpp,
// lib/service/*_routes.cpp register these), with handlers that are never
// called: the fuzz targets exercise matching, not the handlers.

#include <string>
#include <string_view>

#include "lib/http/router.hpp"

namespace fuzzing {

// The doc Router::add requires: a summary, a response, a spec for each {name}.
inline svc::http::RouteDoc doc_for(std::string_view pattern) {
  svc::http::RouteDoc doc{"fuzzed route", "", {}, false, {}, {{200, "ok", {}}}};
  for (std::size_t at = 0; at < pattern.size();) {
    const auto end = pattern.find('/', at + 1);
    const auto segment = pattern.substr(at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1);
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}')
      doc.params.push_back(svc::http::ParamSpec::text(std::string(segment.substr(1, segment.size() - 2)), 100).in_path());
    if (end == std::string_view::npos) break;
    at = end;
  }
  return doc;
}

inline svc::http::Router service_router() {
  svc::http::Router router;
  for (const char* pattern :
       {"/", "/health", "/livez", "/ready", "/readyz", "/metrics", "/debug/db", "/api/v1/binance/offers",
        "/api/v1/bybit/offers", "/api/v1/binance/pairs", "/api/v1/offers", "/api/v1/offers/{id}",
        "/api/v1/payment-methods", "/api/v1/stats"})
    router.add(svc::http::Verb::get, pattern, doc_for(pattern), {});
  return router;
}

}  // namespace fuzzing

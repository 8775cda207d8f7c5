#pragma once
// The service's route table as patterns (app/offer_routes.cpp, app/routes.cpp,
// lib/service/*_routes.cpp register these), with handlers that are never
// called: the fuzz targets exercise matching, not the handlers.

#include <string>

#include "lib/http/router.hpp"

namespace fuzzing {

inline svc::http::Router service_router() {
  svc::http::Router router;
  for (const char* pattern :
       {"/", "/health", "/livez", "/ready", "/readyz", "/metrics", "/debug/db", "/api/v1/binance/offers",
        "/api/v1/bybit/offers", "/api/v1/binance/pairs", "/api/v1/offers", "/api/v1/offers/{id}",
        "/api/v1/payment-methods", "/api/v1/stats"})
    router.add(svc::http::Verb::get, pattern, {});
  return router;
}

}  // namespace fuzzing

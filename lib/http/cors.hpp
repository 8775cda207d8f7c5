#pragma once
// Cross-origin requests from browsers (CORS_ALLOW_ORIGINS): which origins may
// call the API from a page of their own, the preflight answer, and the
// headers an allowed cross-origin answer carries. Off (no header added, no
// preflight answered) when no origin is configured: a same-origin page, such
// as the one the service serves itself, needs none of it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/section.hpp"
#include "lib/http/message.hpp"

namespace svc::http {

struct CorsSettings {
  // Exact origins ("https://dash.example.com"), or "*" for any.
  std::vector<std::string> allow_origins;
};
const config::Section<CorsSettings>& cors_section();

class Cors {
 public:
  explicit Cors(CorsSettings settings);

  bool enabled() const noexcept { return any_ || !origins_.empty(); }
  // An OPTIONS request carrying Origin and Access-Control-Request-Method is a
  // preflight: answered here (204 when allowed, 403 {"detail"} when not),
  // before routing. nullopt for anything else.
  std::optional<Response> preflight(const Request& request) const;
  // An allowed origin's answer may be read by its page: Access-Control-Allow-Origin
  // and the headers it may see. Adds Vary: Origin whenever the answer depends on it.
  void decorate(const Request& request, Response& response) const;

 private:
  bool allowed(std::string_view origin) const noexcept;

  std::vector<std::string> origins_;
  bool any_ = false;
};

}  // namespace svc::http

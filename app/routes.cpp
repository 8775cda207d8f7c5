#include "app/routes.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "app/app_state.hpp"
#include "embedded/p2p_dashboard_files.hpp"
#include "lib/http/static_files.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace http = svc::http;
namespace json = boost::json;

void add_routes(AppState& app) {
  app.router.add(http::Verb::get, "/",
                 {"The service's greeting",
                  "No API key: a quick check that this is the service.",
                  {"probes"},
                  false,
                  {},
                  {{200, "`{\"message\":\"P2P Dashboard API is running!\"}`", http::schema_ref("Message")}}},
                 [body = json::serialize(json::object{{"message", "P2P Dashboard API is running!"}})](
                     http::RequestContext&) -> asio::awaitable<http::Response> {
                   co_return http::text_response(http::Status::ok, body, "application/json");
                 });
  // The page and its assets need no key: they hold no data. The page asks
  // for the key and sends it with each API call (docs/dashboard.md).
  http::add_static_routes(app.router, dashboard_files(), "dashboard",
                          "The dashboard: markets, their best offers, price chart");
}

}  // namespace p2p

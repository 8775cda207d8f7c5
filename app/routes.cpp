#include "app/routes.hpp"

#include <boost/json/object.hpp>

#include "app/app_state.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace http = svc::http;

void add_routes(AppState& app) {
  app.router.add(http::Verb::get, "/", [](http::RequestContext&) -> asio::awaitable<http::Response> {
    co_return http::json_response(http::Status::ok, boost::json::object{{"message", "P2P Dashboard API is running!"}});
  });
}

}  // namespace p2p

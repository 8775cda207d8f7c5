#pragma once
// Method + path routing with {name} path parameters. The table is built once
// at start-up and only read afterwards, so matching takes no lock. A path that
// exists under another method gives 405 with Allow, distinct from 404. Every
// route comes with its documentation (RouteDoc): the table is also the API's
// reference (openapi.hpp).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "lib/http/message.hpp"
#include "lib/http/route_doc.hpp"

namespace svc::http {

using PathParams = std::vector<std::pair<std::string, std::string>>;

struct RequestContext {
  const Request& request;
  std::string_view path;        // decoded-free target path, without the query
  std::string_view query;       // raw query string, without '?'
  std::string_view route;       // the matched pattern, e.g. "/api/v1/items/{id}"
  std::string_view request_id;
  PathParams params;
  // W3C trace context: the trace id (32 hex; from the client's traceparent or
  // new) and the traceparent header to send on upstream calls made for this
  // request (names this request's span as the parent). Empty outside a server.
  std::string_view trace_id = {};
  std::string_view traceparent = {};
  // The matched route's documentation (its parameter specs); set by the router.
  const RouteDoc* doc = nullptr;

  // The value of path parameter `name` (percent-decoded); "" if absent.
  std::string_view param(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

struct RouteOptions {
  // The server reads a request body (up to MAX_BODY_BYTES) only for a route
  // that takes one; on any other it answers before reading a body byte, so a
  // client cannot make it buffer bodies nobody asked for.
  bool takes_body = false;
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern, a duplicate route,
  // or a doc that does not document it: no summary, no response, a {name}
  // of the pattern without its path parameter (or one the pattern lacks), a
  // parameter listed twice or without a valid example.
  void add(Verb method, std::string pattern, RouteDoc doc, Handler handler, RouteOptions options = {});

  struct Route {
    Verb method;
    std::string pattern;
    std::vector<std::string> segments;  // "{id}" marks a parameter
    Handler handler;
    RouteOptions options;
    std::shared_ptr<const RouteDoc> doc;  // shared with the handler's wrapper: stable while routes_ grows
  };

  struct Match {
    enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
    const Route* route = nullptr;
    PathParams params;
    std::string allow;  // for 405: "GET, HEAD, POST"
  };

  // The most segments a pattern may have ("/a/b" has two).
  static constexpr std::size_t kMaxSegments = 16;

  // HEAD is answered by the GET route of the same path.
  Match match(Verb method, std::string_view path) const;
  // In registration order.
  const std::vector<Route>& routes() const noexcept { return routes_; }
  // Every method some route answers, as an Allow value ("GET, HEAD"), for OPTIONS *.
  std::string methods() const;

 private:
  std::vector<Route> routes_;
};

// Splits "/a/b%20c" into {"a", "b c"}; false if a segment has bad %-escapes.
bool split_path(std::string_view path, std::vector<std::string>& out);

}  // namespace svc::http

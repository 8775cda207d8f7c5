#pragma once
// The P2P API's reference: the JSON Schemas of its answers, the errors its
// routes share, and the routes that publish it (/openapi.json, /docs). The
// routes themselves document their parameters (offer_routes.cpp).

#include <string>
#include <string_view>
#include <vector>

#include "lib/http/route_doc.hpp"

namespace p2p {

struct AppState;

// {"type":"array","items":{"$ref": <schema>}}
boost::json::value array_of(std::string_view schema);
// 503 database unavailable, 504 database timeout (application.cpp maps them).
std::vector<svc::http::ResponseDoc> database_errors();
// 502 and 504 for an exchange call that failed or was too slow.
std::vector<svc::http::ResponseDoc> upstream_errors(std::string_view exchange);

// GET /openapi.json and /docs (`version`: the document's info.version).
void add_docs_routes(AppState& app, std::string version);

}  // namespace p2p

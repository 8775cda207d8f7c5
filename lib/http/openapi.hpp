#pragma once
// The OpenAPI 3.1 document of a Router, generated from its routes' docs
// (RouteDoc) and parameter specs: adding a route documents it. Knows the
// kit's error shapes ({"detail": "..."}, the 422 list) and the X-API-Key
// scheme; the application supplies the schemas of its own answers.

#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "lib/http/router.hpp"

namespace svc::http {

struct OpenApiInfo {
  std::string title;
  std::string version;
  std::string description;      // Markdown
  boost::json::object schemas;  // components.schemas, for the routes' {"$ref"}s
  boost::json::array tags;      // [{"name":..,"description":..}], in display order
};

// The document as JSON text. Throws std::invalid_argument when a route
// refers to a schema that neither `info` nor the kit defines.
std::string openapi_document(const Router& router, const OpenApiInfo& info);

// GET `path`: the document, generated on the first request (the table is
// complete by then: it is read-only once serving) and answered from memory
// after that; concurrent first requests wait the millisecond it takes.
void add_openapi_route(Router& router, OpenApiInfo info, std::string path = "/openapi.json");

}  // namespace svc::http

#pragma once
// What a route documents about itself: Router::add takes one with every
// route, and the OpenAPI document (openapi.hpp) is generated from them. The
// parameters are the very specs the handler validates against (QueryParams
// refuses to read one its route does not list).

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "lib/http/param_spec.hpp"

namespace svc::http {

struct ResponseDoc {
  unsigned status = 200;
  std::string description;
  boost::json::value schema;  // JSON Schema of the body ({"$ref": ...} for a component); null: none
  std::string media_type = "application/json";
};

struct RouteDoc {
  std::string summary;
  std::string description;  // Markdown
  std::vector<std::string> tags;
  bool api_key = false;  // needs X-API-Key (401 is documented for it)
  std::vector<ParamSpec> params;
  // Besides these, the document lists 401 for `api_key` and 422 for any
  // route with parameters, in the kit's error shapes. A status listed again
  // adds a media type to it.
  std::vector<ResponseDoc> responses;
};

// {"$ref":"#/components/schemas/<name>"}
boost::json::value schema_ref(std::string_view name);

}  // namespace svc::http

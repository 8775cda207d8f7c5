#include "lib/http/openapi.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "lib/http/api_key.hpp"

namespace svc::http {

namespace json = boost::json;

namespace {

constexpr std::string_view kSecurityScheme = "APIKeyHeader";  // FastAPI's name for APIKeyHeader(name=...)
constexpr std::string_view kRefPrefix = "#/components/schemas/";

// The kit's error shapes, as FastAPI documents them.
json::object error_schemas() {
  return json::parse(R"({
    "HTTPError": {"title": "HTTPError", "type": "object", "required": ["detail"],
      "properties": {"detail": {"title": "Detail", "type": "string"}},
      "description": "Every error but 422: {\"detail\": \"...\"}."},
    "ValidationError": {"title": "ValidationError", "type": "object", "required": ["type", "loc", "msg"],
      "properties": {
        "type": {"title": "Error Type", "type": "string", "examples": ["int_parsing", "literal_error", "missing"]},
        "loc": {"title": "Location", "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "examples": [["query", "limit"]]},
        "msg": {"title": "Message", "type": "string"},
        "input": {"title": "Input", "description": "The value as received; null when it is missing."},
        "ctx": {"title": "Context", "type": "object", "description": "The violated bound: {\"le\": 500}."}}},
    "HTTPValidationError": {"title": "HTTPValidationError", "type": "object", "required": ["detail"],
      "properties": {"detail": {"title": "Detail", "type": "array",
                                "items": {"$ref": "#/components/schemas/ValidationError"}}},
      "description": "422: one entry per bad parameter, all of them at once."}
  })").as_object();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// "get" + "/api/v1/items/{id}" -> "get_api_v1_items_id"
std::string operation_id(std::string_view method, std::string_view pattern) {
  std::string out = lower(method);
  for (char c : pattern) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (word)
      out += c;
    else if (out.back() != '_')
      out += '_';
  }
  while (out.back() == '_') out.pop_back();
  return out;
}

json::object parameter(const ParamSpec& p) {
  std::string description = p.description;
  if (p.empty_is_absent) description.append(description.empty() ? "" : " ").append("Empty is the same as absent.");
  json::object out{{"name", p.name},
                   {"in", p.in == ParamIn::path ? "path" : "query"},
                   {"required", p.required},
                   {"schema", p.schema()},
                   {"example", p.example_value()}};
  if (!description.empty()) out["description"] = std::move(description);
  if (p.type == ParamType::flag) out["allowEmptyValue"] = true;
  return out;
}

json::object response(std::string_view description, const json::value& schema, std::string_view media_type) {
  json::object out{{"description", description}};
  if (!schema.is_null()) out["content"] = json::object{{media_type, json::object{{"schema", schema}}}};
  return out;
}

json::object operation(const Router::Route& route) {
  const RouteDoc& doc = *route.doc;
  json::object op{{"operationId", operation_id(to_string(route.method), route.pattern)}, {"summary", doc.summary}};
  if (!doc.description.empty()) op["description"] = doc.description;
  if (!doc.tags.empty()) {
    json::array tags;
    for (const auto& t : doc.tags) tags.emplace_back(t);
    op["tags"] = std::move(tags);
  }
  if (doc.api_key) op["security"] = json::array{json::object{{kSecurityScheme, json::array{}}}};
  if (!doc.params.empty()) {
    json::array params;
    for (const auto& p : doc.params) params.push_back(parameter(p));
    op["parameters"] = std::move(params);
  }
  json::object responses;
  for (const auto& r : doc.responses) {
    auto& entry = responses[std::to_string(r.status)];
    if (entry.is_null()) {
      entry = response(r.description, r.schema, r.media_type);
    } else if (!r.schema.is_null()) {  // the same status in another media type (text for ?verbose)
      auto& content = entry.as_object()["content"];
      if (content.is_null()) content = json::object{};
      content.as_object()[r.media_type] = json::object{{"schema", r.schema}};
    }
  }
  const auto add_default = [&responses](std::string_view status, std::string_view description, std::string_view schema) {
    if (!responses.contains(status)) responses[status] = response(description, schema_ref(schema), "application/json");
  };
  if (doc.api_key) add_default("401", "X-API-Key missing or not accepted: {\"detail\":\"Invalid API Key\"}.", "HTTPError");
  if (!doc.params.empty())
    add_default("422", "Bad parameters, each listed (FastAPI's list form).", "HTTPValidationError");
  op["responses"] = std::move(responses);
  return op;
}

// Every "$ref" names a schema that exists.
void check_refs(const json::value& v, const json::object& schemas) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.get_object()) {
      if (key == "$ref" && value.is_string()) {
        const std::string_view ref = value.get_string();
        if (ref.substr(0, kRefPrefix.size()) != kRefPrefix || !schemas.contains(ref.substr(kRefPrefix.size())))
          throw std::invalid_argument("OpenAPI: no schema for $ref " + std::string(ref));
      }
      check_refs(value, schemas);
    }
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) check_refs(item, schemas);
  }
}

}  // namespace

std::string openapi_document(const Router& router, const OpenApiInfo& info) {
  json::object paths;
  bool secured = false;
  for (const auto& route : router.routes()) {
    secured = secured || route.doc->api_key;
    auto& item = paths[route.pattern];
    if (item.is_null()) item = json::object{};
    item.as_object()[lower(to_string(route.method))] = operation(route);
  }
  json::object schemas = info.schemas;
  for (auto& [name, schema] : error_schemas())
    if (!schemas.contains(name)) schemas[name] = schema;
  json::object components{{"schemas", schemas}};
  if (secured) {
    components["securitySchemes"] = json::object{
        {kSecurityScheme, json::object{{"type", "apiKey"},
                                       {"in", "header"},
                                       {"name", kApiKeyHeader},
                                       {"description", "One of the keys in API_KEY / API_KEYS."}}}};
  }
  json::object document{{"openapi", "3.1.0"},
                        {"info", json::object{{"title", info.title},
                                              {"version", info.version},
                                              {"description", info.description}}}};
  if (!info.tags.empty()) document["tags"] = info.tags;
  document["paths"] = std::move(paths);
  document["components"] = std::move(components);
  check_refs(document, schemas);
  return json::serialize(document);
}

void add_openapi_route(Router& router, OpenApiInfo info, std::string path) {
  struct Document {
    Document(const Router& r, OpenApiInfo i) : router(r), info(std::move(i)) {}
    const Router& router;
    OpenApiInfo info;
    std::once_flag built;
    std::string text;
  };
  auto state = std::make_shared<Document>(router, std::move(info));
  RouteDoc doc{"This document: OpenAPI 3.1, generated from the route table",
               "Every route of the service with its parameters (the specs the service validates against), its "
               "answers and its errors.",
               {"docs"},
               false,
               {},
               {{200, "The OpenAPI document.", json::object{{"type", "object"}}}}};
  router.add(Verb::get, std::move(path), std::move(doc),
             [state](RequestContext&) -> boost::asio::awaitable<Response> {
               std::call_once(state->built, [&] { state->text = openapi_document(state->router, state->info); });
               auto res = text_response(Status::ok, state->text, "application/json");
               res.set(bhttp::field::cache_control, "no-cache");
               co_return res;
             });
}

}  // namespace svc::http

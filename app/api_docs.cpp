#include "app/api_docs.hpp"

#include <boost/json/parse.hpp>

#include "app/app_state.hpp"
#include "embedded/p2p_docs_files.hpp"
#include "lib/http/openapi.hpp"
#include "lib/http/static_files.hpp"

namespace p2p {

namespace http = svc::http;
namespace json = boost::json;

namespace {

// The schemas of the answers, strict (additionalProperties: false) so that
// the contract test (tests/api) finds a field the schema forgot.
constexpr std::string_view schemas_json = R"({
  "Message": {"type": "object", "additionalProperties": false, "required": ["message"],
    "properties": {"message": {"type": "string"}}},
  "Offer": {"type": "object", "additionalProperties": false,
    "required": ["id", "exchange", "external_id", "timestamp", "fiat", "asset", "price", "available", "min_limit",
                 "max_limit", "payment_methods", "trade_type", "advertiser", "advertiser_orders_30d",
                 "advertiser_completion_rate", "merchant"],
    "description": "One offer of one fetch. Decimals are JSON numbers with exactly the stored digits (numeric(20,8)).",
    "properties": {
      "id": {"type": "string", "format": "uuid"},
      "exchange": {"type": "string", "enum": ["binance", "bybit"]},
      "external_id": {"type": "string", "description": "The exchange's id of the advertisement."},
      "timestamp": {"type": "string", "format": "date-time", "description": "When the batch was stored, UTC."},
      "fiat": {"type": "string"},
      "asset": {"type": "string"},
      "price": {"type": "number"},
      "available": {"type": "number", "description": "Amount of the asset on offer."},
      "min_limit": {"type": "number"},
      "max_limit": {"type": "number"},
      "payment_methods": {"type": "array", "items": {"type": "string"}, "description": "Names, sorted."},
      "trade_type": {"type": "string", "enum": ["BUY", "SELL"]},
      "advertiser": {"type": "string", "description": "\"Unknown\" when the exchange gives none."},
      "advertiser_orders_30d": {"type": ["integer", "null"], "minimum": 0},
      "advertiser_completion_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
      "merchant": {"type": "boolean"}}},
  "OfferPage": {"type": "object", "additionalProperties": false, "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Offer"}},
                   "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor`; null: last page."}}},
  "PaymentMethod": {"type": "object", "additionalProperties": false, "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
  "Pair": {"type": "object", "additionalProperties": false, "required": ["asset", "fiat"],
    "properties": {"asset": {"type": "string"}, "fiat": {"type": "string"}}},
  "Stats": {"type": "object", "additionalProperties": false,
    "required": ["exchange", "fiat", "asset", "trade_type", "min_completion_rate", "min_orders", "merchant_only",
                 "payment_method", "window", "count", "best_price", "median_price", "worst_price", "min_price",
                 "max_price", "spread", "first_seen", "last_seen"],
    "properties": {
      "exchange": {"type": ["string", "null"]}, "fiat": {"type": ["string", "null"]},
      "asset": {"type": ["string", "null"]}, "trade_type": {"type": ["string", "null"]},
      "min_completion_rate": {"type": ["number", "null"]}, "min_orders": {"type": ["integer", "null"]},
      "merchant_only": {"type": "boolean"}, "payment_method": {"type": ["string", "null"]},
      "window": {"type": "string"}, "count": {"type": "integer", "minimum": 0},
      "best_price": {"type": ["number", "null"], "description": "Null without trade_type, or when count is 0."},
      "median_price": {"type": ["number", "null"]}, "worst_price": {"type": ["number", "null"]},
      "min_price": {"type": ["number", "null"]}, "max_price": {"type": ["number", "null"]},
      "spread": {"type": ["number", "null"], "description": "max_price - min_price."},
      "first_seen": {"type": ["string", "null"], "format": "date-time"},
      "last_seen": {"type": ["string", "null"], "format": "date-time"}}},
  "Market": {"type": "object", "additionalProperties": false,
    "required": ["exchange", "fiat", "asset", "trade_type", "first_seen", "last_seen"],
    "properties": {
      "exchange": {"type": "string", "enum": ["binance", "bybit"]}, "fiat": {"type": "string"},
      "asset": {"type": "string"}, "trade_type": {"type": "string", "enum": ["BUY", "SELL"]},
      "first_seen": {"type": "string", "format": "date-time", "description": "Its oldest stored fetch."},
      "last_seen": {"type": "string", "format": "date-time", "description": "Its newest stored fetch."}}},
  "MarketSnapshot": {"type": "object", "additionalProperties": false,
    "required": ["exchange", "fiat", "asset", "trade_type", "fetched_at", "count", "best_price", "median_price",
                 "worst_price", "available", "offers"],
    "properties": {
      "exchange": {"type": "string", "enum": ["binance", "bybit"]}, "fiat": {"type": "string"},
      "asset": {"type": "string"}, "trade_type": {"type": "string", "enum": ["BUY", "SELL"]},
      "fetched_at": {"type": "string", "format": "date-time", "description": "When the newest fetch was stored."},
      "count": {"type": "integer", "minimum": 0, "description": "Offers of that fetch that pass the filters."},
      "best_price": {"type": ["number", "null"], "description": "BUY: the lowest price; SELL: the highest."},
      "median_price": {"type": ["number", "null"], "description": "Exact: the mean of the two middle prices."},
      "worst_price": {"type": ["number", "null"]},
      "available": {"type": ["number", "null"], "description": "Sum of the offers' available amounts."},
      "offers": {"type": "array", "items": {"$ref": "#/components/schemas/Offer"}, "description": "Best first."}}},
  "Snapshot": {"type": "object", "additionalProperties": false, "required": ["markets"],
    "properties": {"markets": {"type": "array", "items": {"$ref": "#/components/schemas/MarketSnapshot"}}}},
  "SeriesPoint": {"type": "object", "additionalProperties": false,
    "required": ["time", "count", "best_price", "median_price", "worst_price", "available"],
    "properties": {
      "time": {"type": "string", "format": "date-time", "description": "The bucket's start, UTC."},
      "count": {"type": "integer", "minimum": 0, "description": "Distinct advertisements seen in the bucket."},
      "best_price": {"type": ["number", "null"], "description": "BUY: the lowest price; SELL: the highest."},
      "median_price": {"type": ["number", "null"], "description": "Exact: the mean of the two middle prices."},
      "worst_price": {"type": ["number", "null"]},
      "available": {"type": ["number", "null"],
                    "description": "Sum of the available amounts, each advertisement as last fetched."}}},
  "Series": {"type": "object", "additionalProperties": false,
    "required": ["exchange", "fiat", "asset", "trade_type", "window", "bucket", "bucket_seconds", "points"],
    "properties": {
      "exchange": {"type": "string"}, "fiat": {"type": "string"}, "asset": {"type": "string"},
      "trade_type": {"type": "string", "enum": ["BUY", "SELL"]},
      "window": {"type": "string"},
      "bucket": {"type": "string", "description": "The width used (chosen when not given)."},
      "bucket_seconds": {"type": "integer", "minimum": 1},
      "points": {"type": "array", "maxItems": 1000, "items": {"$ref": "#/components/schemas/SeriesPoint"}}}}
})";

constexpr std::string_view description =
    "Peer-to-peer crypto offers scraped from Binance and Bybit, stored in PostgreSQL, served as JSON.\n\n"
    "Every route under `/api/` and `/debug/` needs `X-API-Key` (**Authorize** above). Errors have one shape, "
    "`{\"detail\": \"...\"}`; a 422 lists every bad parameter at once, as FastAPI does. Every response carries "
    "`X-Request-ID`.\n\n"
    "**Where this differs from the FastAPI seeds:** a failing exchange is 502 and a slow one 504 (the seeds "
    "answered 500); Bybit is implemented (the seeds had a stub); the database down is 503 with `Retry-After`, "
    "a database timeout 504.";

http::OpenApiInfo api_info(std::string version) {
  http::OpenApiInfo info;
  info.title = "P2P Dashboard API";
  info.version = std::move(version);
  info.description = std::string(description);
  info.schemas = json::parse(schemas_json).as_object();
  info.tags = json::parse(R"([
    {"name": "exchanges", "description": "Fetch from an exchange now, store, return."},
    {"name": "history", "description": "What was stored: offers, payment methods, statistics."},
    {"name": "market", "description": "Markets, their newest fetch, price series (the dashboard's data)."},
    {"name": "probes", "description": "Kubernetes liveness and readiness."},
    {"name": "observability", "description": "Metrics and the database's state."},
    {"name": "docs", "description": "This reference."},
    {"name": "dashboard", "description": "The web page on this API for traders and operators (docs/dashboard.md)."}])")
                  .as_array();
  return info;
}

}  // namespace

json::value array_of(std::string_view schema) { return json::object{{"type", "array"}, {"items", http::schema_ref(schema)}}; }

std::vector<http::ResponseDoc> database_errors() {
  return {{503, "The database is down or its pool exhausted for DB_POOL_TIMEOUT: `{\"detail\":\"Database "
                "unavailable\"}`, with `Retry-After: 1`.",
           http::schema_ref("HTTPError")},
          {504, "The database did not answer in time: `{\"detail\":\"Database timeout\"}`.",
           http::schema_ref("HTTPError")}};
}

std::vector<http::ResponseDoc> upstream_errors(std::string_view exchange) {
  const std::string name(exchange);
  return {{502, name + " unreachable or answering an error: `{\"detail\":\"Error fetching " + name +
                    " ...: <reason>\"}`. **Differs from the seeds** (500).",
           http::schema_ref("HTTPError")},
          {504, name + " too slow (UPSTREAM_TIMEOUT_SECONDS). **Differs from the seeds** (500).",
           http::schema_ref("HTTPError")}};
}

void add_docs_routes(AppState& app, std::string version) {
  http::add_openapi_route(app.router, api_info(std::move(version)));
  http::add_static_routes(app.router, docs_files(), "docs", "Interactive API reference (Swagger UI)");
}

}  // namespace p2p

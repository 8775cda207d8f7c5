// Routes document themselves: Router::add refuses a route whose doc does not
// describe it, QueryParams holds a handler to its route's parameter specs, and
// the OpenAPI document lists every registered route with those specs.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include "lib/http/openapi.hpp"
#include "lib/http/query.hpp"

using namespace svc::http;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Handler ok() {
  return [](RequestContext&) -> asio::awaitable<Response> { co_return text_response(Status::ok, "ok"); };
}

RouteDoc doc_with(std::vector<ParamSpec> params) {
  return {"a route", "", {"t"}, false, std::move(params), {{200, "ok", json::object{{"type", "string"}}}}};
}

// Runs the matched route's handler for `target` (path?query) and returns its status.
Status call(const Router& router, std::string_view target) {
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const auto match = router.match(Verb::get, path);
  REQUIRE(match.kind == Router::Match::Kind::found);
  Request request;
  RequestContext ctx{request, path, q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
                     match.route->pattern, "test", match.params};
  asio::io_context io;
  auto result = asio::co_spawn(io, match.route->handler(ctx), asio::use_future);
  io.run();
  try {
    return result.get().result();
  } catch (const ValidationError&) {
    return Status::unprocessable_entity;
  }
}

}  // namespace

TEST_CASE("Router::add refuses a doc that does not document its route") {
  Router r;
  auto no_summary = doc_with({});
  no_summary.summary.clear();
  CHECK_THROWS_AS(r.add(Verb::get, "/a", no_summary, ok()), std::invalid_argument);
  auto no_response = doc_with({});
  no_response.responses.clear();
  CHECK_THROWS_AS(r.add(Verb::get, "/a", no_response, ok()), std::invalid_argument);
  // {id} without its spec, a path spec the pattern lacks, a name twice.
  CHECK_THROWS_AS(r.add(Verb::get, "/a/{id}", doc_with({}), ok()), std::invalid_argument);
  CHECK_THROWS_AS(r.add(Verb::get, "/a", doc_with({ParamSpec::text("id", 9).in_path()}), ok()), std::invalid_argument);
  CHECK_THROWS_AS(r.add(Verb::get, "/a", doc_with({ParamSpec::boolean("x"), ParamSpec::boolean("x")}), ok()),
                  std::invalid_argument);
  // A spec no valid example can be derived for (a check without an example).
  CHECK_THROWS_AS(
      r.add(Verb::get, "/a", doc_with({ParamSpec::matching("w", "^w$", [](std::string_view s) { return s == "w"; })}),
            ok()),
      std::invalid_argument);
  CHECK(r.routes().empty());
  r.add(Verb::get, "/a/{id}", doc_with({ParamSpec::text("id", 9).in_path()}), ok());
  CHECK(r.routes().size() == 1);
}

TEST_CASE("a handler reads its parameters through its route's specs") {
  const auto limit = ParamSpec::integer("limit", 1, 500).with_default(50);
  const auto rate = ParamSpec::number("rate", 0, 1, 2).empty_means_any();
  const auto side = ParamSpec::one_of("side", {"BUY", "SELL"}).must_be_given();
  const auto other = ParamSpec::boolean("other").with_default(false);
  Router r;
  std::string seen;
  r.add(Verb::get, "/p", doc_with({limit, rate, side}),
        [&](RequestContext& ctx) -> asio::awaitable<Response> {
          QueryParams q(ctx);
          const auto l = q.integer(limit);
          const auto n = q.optional_number(rate);
          const auto s = q.optional_text(side);
          q.finish();
          seen = std::to_string(l) + " " + n.value_or("-") + " " + s.value_or("-");
          co_return text_response(Status::ok, "ok");
        });
  r.add(Verb::get, "/undocumented", doc_with({limit}), [&](RequestContext& ctx) -> asio::awaitable<Response> {
    QueryParams q(ctx);
    q.boolean(other);  // not in its doc: a programming error
    co_return text_response(Status::ok, "ok");
  });

  CHECK(call(r, "/p?side=SELL&rate=0.50") == Status::ok);
  CHECK(seen == "50 0.5 SELL");
  CHECK(call(r, "/p?side=BUY&rate=&limit=7") == Status::ok);
  CHECK(seen == "7 - BUY");
  CHECK(call(r, "/p?rate=0.5") == Status::unprocessable_entity);       // side missing
  CHECK(call(r, "/p?side=BUY&rate=1.5") == Status::unprocessable_entity);  // above 1
  CHECK(call(r, "/p?side=BUY&rate=0.123") == Status::unprocessable_entity);  // 3 places
  CHECK(call(r, "/p?side=BUY&limit=501") == Status::unprocessable_entity);
  CHECK_THROWS_AS(call(r, "/undocumented"), std::logic_error);
}

TEST_CASE("the OpenAPI document lists every registered route with its specs, errors and security") {
  Router r;
  auto secured = doc_with({ParamSpec::text("id", 36).in_path().with_example("abc")});
  secured.api_key = true;
  secured.responses.push_back({404, "none", schema_ref("HTTPError")});
  r.add(Verb::get, "/items/{id}", secured, ok());
  r.add(Verb::post, "/items/{id}", secured, ok());
  r.add(Verb::get, "/plain", doc_with({}), ok());
  const auto doc = json::parse(openapi_document(r, {"T", "1", "d", {}, {}})).as_object();
  CHECK(doc.at("openapi") == "3.1.0");
  const auto& paths = doc.at("paths").as_object();
  CHECK(paths.size() == 2);
  std::size_t operations = 0;
  for (const auto& route : r.routes()) {
    std::string method(to_string(route.method));
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK_MESSAGE(paths.at(route.pattern).as_object().contains(method), route.pattern);
    ++operations;
  }
  CHECK(operations == 3);
  const auto& get = paths.at("/items/{id}").at("get").as_object();
  CHECK(get.at("operationId") == "get_items_id");
  CHECK(get.at("security").as_array().size() == 1);
  CHECK(get.at("parameters").as_array()[0].at("in") == "path");
  CHECK(get.at("parameters").as_array()[0].at("required") == true);
  const auto& responses = get.at("responses").as_object();
  for (const char* status : {"200", "401", "404", "422"}) CHECK_MESSAGE(responses.contains(status), status);
  CHECK(paths.at("/plain").at("get").as_object().contains("security") == false);
  CHECK(paths.at("/plain").at("get").at("responses").as_object().contains("422") == false);
  const auto& components = doc.at("components").as_object();
  CHECK(components.at("securitySchemes").at("APIKeyHeader").at("name") == "X-API-Key");
  for (const char* schema : {"HTTPError", "HTTPValidationError", "ValidationError"})
    CHECK(components.at("schemas").as_object().contains(schema));

  // A $ref to a schema nobody defines is refused.
  auto dangling = doc_with({});
  dangling.responses = {{200, "ok", schema_ref("Nowhere")}};
  r.add(Verb::get, "/dangling", dangling, ok());
  CHECK_THROWS_AS(openapi_document(r, {"T", "1", "d", {}, {}}), std::invalid_argument);
}

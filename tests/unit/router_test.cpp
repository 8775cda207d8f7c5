#include <doctest/doctest.h>

#include "lib/http/router.hpp"

using namespace svc::http;
namespace asio = boost::asio;

namespace {
// The least a route must document: a summary, an answer, its path parameters.
RouteDoc doc(const std::vector<std::string>& path_params = {}) {
  RouteDoc d{"a route", "", {}, false, {}, {{200, "ok", {}}}};
  for (const auto& name : path_params) d.params.push_back(ParamSpec::text(name, 100).in_path());
  return d;
}

Handler named(std::string name) {
  return [name](RequestContext&) -> asio::awaitable<Response> { co_return text_response(Status::ok, name); };
}
}  // namespace

TEST_CASE("router matches literal paths and tells 404 from 405") {
  Router r;
  r.add(Verb::get, "/", doc(), named("root"));
  r.add(Verb::get, "/health", doc(), named("health"));
  r.add(Verb::post, "/items", doc(), named("create"));
  r.add(Verb::get, "/items", doc(), named("list"));

  auto root = r.match(Verb::get, "/");
  REQUIRE(root.kind == Router::Match::Kind::found);
  CHECK(root.route->pattern == "/");

  CHECK(r.match(Verb::get, "/health").route->pattern == "/health");
  CHECK(r.match(Verb::get, "/nope").kind == Router::Match::Kind::not_found);
  CHECK(r.match(Verb::get, "/health/").kind == Router::Match::Kind::not_found);
  CHECK(r.match(Verb::get, "/health/x").kind == Router::Match::Kind::not_found);

  auto wrong = r.match(Verb::delete_, "/items");
  CHECK(wrong.kind == Router::Match::Kind::method_not_allowed);
  CHECK(wrong.allow == "GET, HEAD, POST");
  CHECK(r.match(Verb::post, "/health").allow == "GET, HEAD");
}

TEST_CASE("router answers HEAD with the GET route") {
  Router r;
  r.add(Verb::get, "/health", doc(), named("health"));
  auto m = r.match(Verb::head, "/health");
  REQUIRE(m.kind == Router::Match::Kind::found);
  CHECK(m.route->method == Verb::get);
}

TEST_CASE("router extracts percent-decoded path parameters") {
  Router r;
  r.add(Verb::get, "/api/v1/offers/{id}", doc({"id"}), named("offer"));
  r.add(Verb::get, "/api/v1/offers/{id}/history/{day}", doc({"id", "day"}), named("history"));
  auto m = r.match(Verb::get, "/api/v1/offers/abc%20def");
  REQUIRE(m.kind == Router::Match::Kind::found);
  REQUIRE(m.params.size() == 1);
  CHECK(m.params[0].first == "id");
  CHECK(m.params[0].second == "abc def");

  auto h = r.match(Verb::get, "/api/v1/offers/42/history/2026-11-23");
  REQUIRE(h.kind == Router::Match::Kind::found);
  CHECK(h.route->pattern == "/api/v1/offers/{id}/history/{day}");
  CHECK(h.params[1].second == "2026-11-23");

  // Several escaped segments: each decoded value stays where its view points.
  auto both = r.match(Verb::get, "/api/v1/offers/a%20very%20long%20identifier%20past%20SSO/history/2026%2D11%2D23");
  REQUIRE(both.kind == Router::Match::Kind::found);
  REQUIRE(both.params.size() == 2);
  CHECK(both.params[0].second == "a very long identifier past SSO");
  CHECK(both.params[1].second == "2026-11-23");
  // An escaped literal segment matches its decoded form.
  CHECK(r.match(Verb::get, "/api/v1/%6Fffers/x").kind == Router::Match::Kind::found);
}

TEST_CASE("a literal route is preferred over a parameter only by registration order") {
  Router r;
  r.add(Verb::get, "/offers/latest", doc(), named("latest"));
  r.add(Verb::get, "/offers/{id}", doc({"id"}), named("one"));
  CHECK(r.match(Verb::get, "/offers/latest").route->pattern == "/offers/latest");
  CHECK(r.match(Verb::get, "/offers/7").route->pattern == "/offers/{id}");
}

TEST_CASE("router rejects malformed paths, bad escapes and duplicate routes") {
  Router r;
  r.add(Verb::get, "/a/{x}", doc({"x"}), named("a"));
  CHECK(r.match(Verb::get, "a").kind == Router::Match::Kind::not_found);
  CHECK(r.match(Verb::get, "").kind == Router::Match::Kind::not_found);
  CHECK(r.match(Verb::get, "/a/%zz").kind == Router::Match::Kind::not_found);
  CHECK(r.match(Verb::get, "/a/%4").kind == Router::Match::Kind::not_found);
  CHECK_THROWS_AS(r.add(Verb::get, "/a/{x}", doc({"x"}), named("again")), std::invalid_argument);
  CHECK_THROWS_AS(r.add(Verb::get, "no-slash", doc(), named("bad")), std::invalid_argument);
}

TEST_CASE("a route takes a body only when it says so; methods() lists what the table answers") {
  Router r;
  r.add(Verb::get, "/items", doc(), named("list"));
  r.add(Verb::post, "/items", doc(), named("create"), {.takes_body = true});
  r.add(Verb::delete_, "/items/{id}", doc({"id"}), named("delete"));
  CHECK_FALSE(r.match(Verb::get, "/items").route->options.takes_body);
  CHECK(r.match(Verb::post, "/items").route->options.takes_body);
  CHECK(r.methods() == "DELETE, GET, HEAD, POST");
  CHECK(Router{}.methods().empty());
}

TEST_CASE("an unknown method on a known path is 405, not 404") {
  Router r;
  r.add(Verb::get, "/health", doc(), named("health"));
  auto m = r.match(Verb::unknown, "/health");
  CHECK(m.kind == Router::Match::Kind::method_not_allowed);
  CHECK(m.allow == "GET, HEAD");
}

TEST_CASE("segments: empty ones count, escapes decode per segment, past kMaxSegments nothing matches") {
  Router r;
  r.add(Verb::get, "/a/{x}/", doc({"x"}), named("trailing"));
  r.add(Verb::get, "/a//{y}", doc({"y"}), named("empty"));
  auto trailing = r.match(Verb::get, "/a/b%2Fc/");
  REQUIRE(trailing.kind == Router::Match::Kind::found);
  CHECK(trailing.route->pattern == "/a/{x}/");
  CHECK(trailing.params[0].second == "b/c");  // an escaped slash stays inside its segment
  auto empty = r.match(Verb::get, "/a//%7By%7D");
  REQUIRE(empty.kind == Router::Match::Kind::found);
  CHECK(empty.params[0].second == "{y}");  // a decoded brace is a value, not a pattern
  CHECK(r.match(Verb::get, "/a/b").kind == Router::Match::Kind::not_found);

  std::string deepest;
  for (std::size_t i = 0; i < Router::kMaxSegments; ++i) deepest += "/s";
  r.add(Verb::get, deepest, doc(), named("deepest"));
  CHECK(r.match(Verb::get, deepest).kind == Router::Match::Kind::found);
  CHECK(r.match(Verb::post, deepest).allow == "GET, HEAD");
  CHECK(r.match(Verb::get, deepest + "/s").kind == Router::Match::Kind::not_found);
  CHECK(r.match(Verb::get, deepest + "/").kind == Router::Match::Kind::not_found);
  CHECK_THROWS_AS(r.add(Verb::get, deepest + "/s", doc(), named("too deep")), std::invalid_argument);
}

// The router and the query string: a route pattern (added to the service's
// table, or refused), a method and a target matched against it, the query
// read through QueryParams as the API's handlers read theirs
// (app/offer_routes.cpp: market and filter parameters, times, cursors), and
// the 422 body built from whatever was wrong, which must be valid JSON.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include <boost/json/parse.hpp>

#include "app/app_settings.hpp"
#include "lib/http/errors.hpp"
#include "lib/http/percent_decode.hpp"
#include "lib/http/query.hpp"
#include "lib/http/router.hpp"
#include "lib/http/target.hpp"
#include "lib/pg/timestamp.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/service_routes.hpp"

namespace {

using namespace svc::http;

void check_decode(std::string_view text) {
  for (bool plus_is_space : {false, true}) {
    std::string out;
    if (!percent_decode(text, out, plus_is_space)) continue;
    FUZZ_CHECK(out.size() <= text.size());
    if (text.find('%') == std::string_view::npos && (!plus_is_space || text.find('+') == std::string_view::npos))
      FUZZ_CHECK(out == text);
  }
}

void check_route(std::string_view pattern, Verb method, std::string_view path) {
  Router router = fuzzing::service_router();
  bool added = true;
  try {
    router.add(Verb::get, std::string(pattern), fuzzing::doc_for(pattern), {});
  } catch (const std::invalid_argument&) {
    added = false;
  }
  std::vector<std::string> segments;
  bool split = split_path(path, segments);
  if (split) FUZZ_CHECK(segments.size() == static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')) ||
                        path == "/");
  auto match = router.match(method, path);
  if (!split) FUZZ_CHECK(match.kind == Router::Match::Kind::not_found);
  if (match.kind == Router::Match::Kind::found) {
    FUZZ_CHECK(match.route != nullptr);
    std::size_t params = 0;
    for (const auto& s : match.route->segments) params += s.size() > 2 && s.front() == '{' && s.back() == '}';
    FUZZ_CHECK(match.params.size() == params);
  }
  if (match.kind == Router::Match::Kind::method_not_allowed) FUZZ_CHECK(match.allow.find("GET") != std::string::npos);
  // A pattern that was accepted matches itself.
  if (added) FUZZ_CHECK(router.match(Verb::get, pattern).kind == Router::Match::Kind::found);
}

void check_query(std::string_view raw) {
  std::optional<QueryParams> parsed;
  try {
    parsed.emplace(raw);
  } catch (const HttpError& e) {
    FUZZ_CHECK(e.status() == Status::bad_request);
    return;
  }
  QueryParams& q = *parsed;
  const std::vector<std::string_view> trade_types{"BUY", "SELL"};
  const std::vector<std::string_view> exchanges{"binance", "bybit"};
  q.matching("fiat", "VES", "^[A-Z0-9]{2,10}$", p2p::is_currency_code);
  q.literal("tradeType", "BUY", trade_types);
  q.integer("page", 1, 1, 100);
  q.integer("rows", 20, 1, 20);
  q.optional_literal("exchange", exchanges);
  q.optional_integer("limit", 1, 500);
  q.boolean("verbose", false);
  if (auto since = q.get("since"); since && !since->empty()) {
    if (auto t = svc::pg::parse_timestamp(*since)) FUZZ_CHECK(svc::pg::parse_timestamp(svc::pg::format_timestamp(*t)) == t);
  }
  if (q.errors().empty()) return;
  try {
    q.finish();
    FUZZ_CHECK(false);
  } catch (const ValidationError& e) {
    Response r = validation_response(e.errors());
    FUZZ_CHECK(r.result() == Status::unprocessable_entity);
    boost::system::error_code ec;
    auto body = boost::json::parse(r.body(), ec);
    FUZZ_CHECK(!ec);  // a client must be able to read the 422
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  static constexpr Verb methods[] = {Verb::get, Verb::head, Verb::post, Verb::put, Verb::delete_, Verb::options};
  Verb method = methods[in.ConsumeIntegralInRange<std::size_t>(0, std::size(methods) - 1)];
  std::string pattern = in.ConsumeRandomLengthString(256);
  std::string target = in.ConsumeRemainingBytesAsString();
  check_decode(target);
  // As the server does: a target it refuses (400) reaches no route.
  auto parsed = parse_target(target);
  if (!parsed || parsed->form == Target::Form::asterisk) return 0;
  FUZZ_CHECK(!parsed->path.empty() && parsed->path.front() == '/');
  check_decode(parsed->path);
  check_decode(parsed->query);
  check_route(pattern, method, parsed->path);
  check_query(parsed->query);
  return 0;
}

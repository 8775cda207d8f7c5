// The bytes of one connection, as a session reads them (lib/http/server.cpp):
// requests parsed one after the other (pipelining) by the server's reader
// (lib/http/request_parsing: its parser limits, its read-buffer cap, its
// decisions on framing, target and route before a body byte is read), each
// refused one with its response, each accepted one through what the session
// does before the handler: the X-Request-ID check and the traceparent.
// Twice: with the default limits and with tiny ones, so that 413, 431 and
// the buffer cap are reached by small inputs. The routes: the service's own
// patterns, plus one POST route that takes a body (the service has none yet,
// the server supports them).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/http/error.hpp>

#include "lib/http/request_id.hpp"
#include "lib/http/request_parsing.hpp"
#include "lib/http/router.hpp"
#include "lib/telemetry/trace_context.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/service_routes.hpp"

namespace {

using namespace svc::http;
using Outcome = ParsedRequest::Outcome;

Router routes() {
  Router router = fuzzing::service_router();
  router.add(Verb::post, "/api/v1/echo", fuzzing::doc_for("/api/v1/echo"), {}, {.takes_body = true});
  return router;
}

void check_refusal(const ParsedRequest& parsed) {
  FUZZ_CHECK(parsed.refusal.has_value());
  auto status = parsed.refusal->result();
  FUZZ_CHECK(status == Status::bad_request || status == Status::payload_too_large ||
             status == Status::request_header_fields_too_large || status == Status::not_implemented ||
             status == Status::http_version_not_supported);
  if (parsed.ec) FUZZ_CHECK((parsed.ec == bhttp::error::body_limit) == (status == Status::payload_too_large));
}

void serve(std::string_view bytes, const ServerSettings& settings) {
  static const Router router = routes();
  svc::telemetry::TraceIdGenerator traces(42);
  while (!bytes.empty()) {
    ParsedRequest parsed = parse_request(bytes, settings, router);
    FUZZ_CHECK(parsed.consumed <= bytes.size());
    if (parsed.outcome == Outcome::need_more) return;  // the server waits for more (or times out)
    if (parsed.outcome == Outcome::refused) {
      check_refusal(parsed);
      return;  // responded_and_close
    }
    FUZZ_CHECK(parsed.request.has_value() && !parsed.refusal);
    FUZZ_CHECK(parsed.consumed > 0);
    const Request& request = *parsed.request;
    const HeaderDecision& d = parsed.decision;
    FUZZ_CHECK(request.body().size() <= settings.max_body_bytes);
    // A body is read only for a route that takes one.
    if (!request.body().empty()) FUZZ_CHECK(d.read_body && d.match.route != nullptr && d.match.route->options.takes_body);
    FUZZ_CHECK(!(d.read_body && d.close_after));
    FUZZ_CHECK(!d.target.path.empty() && d.target.path.find('?') == std::string_view::npos);
    if (d.target.form == Target::Form::asterisk)
      FUZZ_CHECK(d.target.path == "*" && request.method() == Verb::options);
    else
      FUZZ_CHECK(d.target.path.front() == '/');
    if (d.match.kind == Router::Match::Kind::found) FUZZ_CHECK(d.match.route != nullptr);
    if (d.match.kind == Router::Match::Kind::method_not_allowed) FUZZ_CHECK(!d.match.allow.empty());

    auto id = request["X-Request-ID"];
    if (is_sane_request_id({id.data(), id.size()})) FUZZ_CHECK(id.size() >= 1 && id.size() <= 128);
    auto incoming = request["traceparent"];
    auto trace = traces.next({incoming.data(), incoming.size()});
    svc::telemetry::TraceContext::Header header;
    FUZZ_CHECK(svc::telemetry::parse_traceparent(trace.traceparent(header)).has_value());
    if (!request.keep_alive() || d.close_after) return;
    bytes.remove_prefix(parsed.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  serve(bytes, ServerSettings{});
  ServerSettings tiny;
  tiny.max_header_bytes = 256;
  tiny.max_body_bytes = 64;
  serve(bytes, tiny);
  return 0;
}

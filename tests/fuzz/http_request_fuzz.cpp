// The bytes of one connection, as a session reads them (lib/http/server.cpp):
// requests parsed one after the other (pipelining) by the server's parser
// with its limits, each refused one mapped to its response, each accepted
// one through what the session does before the handler: the X-Request-ID
// check, the traceparent, the target split, the route table (the service's
// own patterns). Twice: with the default limits and with tiny ones, so that
// 413 and 431 are reached by small inputs.

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

void serve(std::string_view bytes, const ServerSettings& settings) {
  static const Router router = fuzzing::service_router();
  svc::telemetry::TraceIdGenerator traces(42);
  while (!bytes.empty()) {
    ParsedRequest parsed = parse_request(bytes, settings);
    FUZZ_CHECK(parsed.consumed <= bytes.size());
    if (parsed.ec == bhttp::error::need_more) return;  // the server waits for more (or times out)
    if (parsed.ec) {
      Response r = request_error_response(parsed.ec, settings);
      auto status = r.result();
      FUZZ_CHECK(status == Status::bad_request || status == Status::payload_too_large ||
                 status == Status::request_header_fields_too_large);
      FUZZ_CHECK((parsed.ec == bhttp::error::body_limit) == (status == Status::payload_too_large));
      return;  // responded_and_close
    }
    FUZZ_CHECK(parsed.request.has_value());
    FUZZ_CHECK(parsed.consumed > 0);
    const Request& request = *parsed.request;
    FUZZ_CHECK(request.body().size() <= settings.max_body_bytes);

    auto id = request["X-Request-ID"];
    if (is_sane_request_id({id.data(), id.size()})) FUZZ_CHECK(id.size() >= 1 && id.size() <= 128);
    auto incoming = request["traceparent"];
    auto trace = traces.next({incoming.data(), incoming.size()});
    svc::telemetry::TraceContext::Header header;
    FUZZ_CHECK(svc::telemetry::parse_traceparent(trace.traceparent(header)).has_value());

    std::string_view query;
    std::string_view target(request.target().data(), request.target().size());
    std::string_view path = split_target(target, query);
    FUZZ_CHECK(path.find('?') == std::string_view::npos);
    if (path.size() == target.size())
      FUZZ_CHECK(query.empty());
    else
      FUZZ_CHECK(path.size() + 1 + query.size() == target.size());
    auto match = router.match(request.method(), path);
    if (match.kind == Router::Match::Kind::found) FUZZ_CHECK(match.route != nullptr);
    if (match.kind == Router::Match::Kind::method_not_allowed) FUZZ_CHECK(!match.allow.empty());
    if (!request.keep_alive()) return;
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

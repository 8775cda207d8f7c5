#include "lib/http/client_round_trip.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "lib/core/with_timer.hpp"

namespace svc::http::detail {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace ssl = asio::ssl;
using core::nothrow;
using core::with_timer;

namespace {

template <typename Stream>
asio::awaitable<RoundTrip> round_trip_on(Stream& stream, ClientConnection& conn, const CallPlan& plan,
                                         const ClientSettings& settings) {
  RoundTrip out;
  auto budget = plan.budget("write", settings.read_timeout);
  asio::steady_timer timer(plan.executor, budget.at);
  auto [write_ec, written] = co_await with_timer(bhttp::async_write(stream, plan.message, nothrow), timer);
  if (write_ec == asio::error::operation_aborted) throw_cancelled();
  if (write_ec == asio::error::timed_out) throw budget.expired();
  if (write_ec && conn.reused) {
    out.stale = true;
    co_return out;
  }
  if (write_ec)
    throw AttemptError(ClientPhase::write, "write: " + write_ec.message() + " (" + plan.url.authority + ")", true);

  const std::size_t limit = settings.max_response_bytes;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  std::size_t consumed = 0;  // header and body bytes, interim responses included
  for (;;) {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limit, UINT32_MAX)));
    parser->body_limit(limit);
    if (plan.request.method == Verb::head) parser->skip(true);
    while (!parser->is_done()) {
      budget = plan.budget("read", settings.read_timeout);
      timer.expires_at(budget.at);
      auto [ec, n] = co_await with_timer(bhttp::async_read_some(stream, conn.buffer, *parser, nothrow), timer);
      consumed += n;
      if (!ec && consumed > limit) ec = bhttp::error::body_limit;
      // TLS peers that end a read-until-close body without close_notify.
      if (ec == ssl::error::stream_truncated && parser->got_some() && parser->need_eof()) {
        ec = {};
        parser->put_eof(ec);
        if (!ec) break;
      }
      if (!ec) continue;
      if (ec == asio::error::operation_aborted) throw_cancelled();
      if (ec == asio::error::timed_out) throw budget.expired();
      if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        throw AttemptError(ClientPhase::body_too_large,
                           "body_too_large: the response from " + plan.url.authority + " exceeds " +
                               std::to_string(limit) + " bytes",
                           false);
      }
      if (conn.reused && consumed == 0 && !parser->got_some()) {
        out.stale = true;
        co_return out;
      }
      std::string what = ec == bhttp::error::end_of_stream ? std::string("connection closed before the response")
                                                           : ec.message();
      throw AttemptError(ClientPhase::read, "read: " + what + " (" + plan.url.authority + ")", true);
    }
    // Interim answers (100 Continue, 103 Early Hints) precede the response.
    const unsigned status = parser->get().result_int();
    if (status / 100 != 1 || status == 101) break;
  }

  auto& res = parser->get();
  out.reusable = res.keep_alive() && !parser->need_eof() && conn.buffer.size() == 0;
  out.response.status = res.result_int();
  out.response.content_type = res[bhttp::field::content_type];
  out.response.headers.reserve(static_cast<std::size_t>(std::distance(res.begin(), res.end())));
  for (const auto& field : res) out.response.headers.emplace_back(field.name_string(), field.value());
  out.response.body = std::move(res.body());
  co_return out;
}

}  // namespace

asio::awaitable<RoundTrip> round_trip(ClientConnection& conn, const CallPlan& plan, const ClientSettings& settings) {
  if (conn.tls) co_return co_await round_trip_on(*conn.tls, conn, plan, settings);
  co_return co_await round_trip_on(conn.socket, conn, plan, settings);
}

}  // namespace svc::http::detail

#include "lib/http/request_parsing.hpp"

#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace svc::http {

void apply_request_limits(RequestParser& parser, const ServerSettings& settings) {
  parser.header_limit(static_cast<std::uint32_t>(settings.max_header_bytes));
  parser.body_limit(settings.max_body_bytes);
}

Response request_error_response(const boost::system::error_code& ec, const ServerSettings& settings) {
  if (ec == bhttp::error::header_limit)
    return error_response(Status::request_header_fields_too_large,
                          "Request header too large (limit " + std::to_string(settings.max_header_bytes) + " bytes)");
  if (ec == bhttp::error::body_limit)
    return error_response(Status::payload_too_large,
                          "Request body too large (limit " + std::to_string(settings.max_body_bytes) + " bytes)");
  return error_response(Status::bad_request, "Bad Request: " + ec.message());
}

std::string_view split_target(std::string_view target, std::string_view& query) {
  auto q = target.find('?');
  if (q == std::string_view::npos) {
    query = {};
    return target;
  }
  query = target.substr(q + 1);
  return target.substr(0, q);
}

namespace {

// Feeds `bytes` from `offset` until the parser wants no more for now (as
// Beast's read loop does with what a socket delivered); need_more at the end.
boost::system::error_code feed(RequestParser& parser, std::string_view bytes, std::size_t& offset,
                               bool (RequestParser::*done)() const) {
  boost::system::error_code ec;
  while (!(parser.*done)()) {
    std::size_t n = parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
    offset += n;
    if (ec) return ec;
    if (n == 0 && !(parser.*done)()) return bhttp::error::need_more;
  }
  return ec;
}

}  // namespace

ParsedRequest parse_request(std::string_view bytes, const ServerSettings& settings) {
  ParsedRequest out;
  RequestParser parser;
  apply_request_limits(parser, settings);
  // bhttp::async_read_header, then bhttp::async_read (which parses eagerly).
  parser.eager(false);
  out.ec = feed(parser, bytes, out.consumed, &RequestParser::is_header_done);
  if (!out.ec && !parser.is_done()) {
    out.expects_continue = boost::beast::iequals(parser.get()[bhttp::field::expect], "100-continue");
    parser.eager(true);
    out.ec = feed(parser, bytes, out.consumed, &RequestParser::is_done);
  }
  if (!out.ec) out.request = parser.release();
  return out;
}

}  // namespace svc::http

#pragma once
// How the server reads a request, without a socket: the parser's limits, the
// cap on the read buffer, what a refused read is answered, and what the
// server decides once a header is parsed (framing, target, route, whether a
// body is read). Server::read_request makes its decisions through these;
// parse_request() runs them, with Beast's own read loop, over bytes in memory
// (the fuzz target tests/fuzz/http_request_fuzz.cpp and its unit test).

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include "lib/http/message.hpp"
#include "lib/http/router.hpp"
#include "lib/http/server_settings.hpp"
#include "lib/http/target.hpp"

namespace svc::http {

using RequestParser = bhttp::request_parser<bhttp::string_body>;

// The read buffer's max_size: the header limit plus a slack. Beast 1.81
// checks its header limit on the request header only, not on a chunk line
// (an endless chunk extension) or the trailer section, which it buffers
// whole; the buffer's cap bounds those (buffer_overflow, answered 400).
std::size_t read_buffer_limit(const ServerSettings& settings);

// MAX_HEADER_BYTES and MAX_BODY_BYTES on a fresh parser.
void apply_request_limits(RequestParser& parser, const ServerSettings& settings);

// The answer to a read the parser or the buffer refused (not a timeout nor
// a disconnect: those get none): 505 for a request line naming another
// major version (the HTTP/2 preface), 431 (header limit), 413 (body limit),
// else 400. `buffered`: what the read buffer holds (the request line).
Response request_error_response(const boost::system::error_code& ec, const ServerSettings& settings,
                                std::string_view buffered);

// What the server does once the header is parsed, before any body byte.
struct HeaderDecision {
  std::optional<Response> refusal;  // answer this and close: bad framing or target, a body on a route taking none
  Target target;                    // when no refusal
  Router::Match match;              // not_found for OPTIONS *
  bool read_body = false;           // a body follows and the route takes it
  bool close_after = false;         // a body follows, left unread: answer, then close
};
// `message_done`: the parser needs no body (parser.is_done() after the header).
HeaderDecision decide_on_header(const Request& header, bool message_done, const Router& router);

// One request from the front of `bytes`, as Server::read_request reads it
// from its connection when these bytes have arrived (and no more yet).
struct ParsedRequest {
  enum class Outcome {
    need_more,  // `bytes` end inside the request: the server waits (under its timeouts)
    refused,    // `refusal` is answered and the connection closed
    request,    // `request` goes to the handler (or 404/405/OPTIONS *, per `decision`)
  } outcome = Outcome::need_more;
  boost::system::error_code ec;     // the read's error for `refused` by the reader
  std::optional<Response> refusal;  // for `refused`
  HeaderDecision decision;          // once the header is parsed
  bool expects_continue = false;    // a body was to be read with "Expect: 100-continue"
  std::optional<Request> request;   // for `request`
  std::size_t consumed = 0;         // bytes of `bytes` the request took (pipelined ones follow)
};
ParsedRequest parse_request(std::string_view bytes, const ServerSettings& settings, const Router& router);

}  // namespace svc::http

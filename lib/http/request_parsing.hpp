#pragma once
// How the server reads a request, without a socket: the parser with the
// server's limits, the response a malformed or oversized request gets, and
// the split of the target. Server::read_request uses the first two on its
// connection; parse_request() runs the same parser over bytes in memory (the
// fuzz target tests/fuzz/http_request_fuzz.cpp and its unit test).

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include "lib/http/message.hpp"
#include "lib/http/server_settings.hpp"

namespace svc::http {

using RequestParser = bhttp::request_parser<bhttp::string_body>;

// MAX_HEADER_BYTES and MAX_BODY_BYTES on a fresh parser.
void apply_request_limits(RequestParser& parser, const ServerSettings& settings);

// The answer to a request the parser refused: 431 (header limit), 413 (body
// limit), else 400. For read errors that are neither timeouts nor disconnects.
Response request_error_response(const boost::system::error_code& ec, const ServerSettings& settings);

// "/a/b?x=1" -> "/a/b", query "x=1"; no '?' -> the whole target, query "".
std::string_view split_target(std::string_view target, std::string_view& query);

struct ParsedRequest {
  boost::system::error_code ec;  // bhttp::error::need_more when `bytes` end inside the request
  std::size_t consumed = 0;      // bytes of `bytes` the request took (pipelined ones follow)
  bool expects_continue = false;  // header done, body pending, "Expect: 100-continue"
  std::optional<Request> request;  // when !ec
};

// One request from the front of `bytes`, header first, then the body, as
// Server::read_request reads them from its connection.
ParsedRequest parse_request(std::string_view bytes, const ServerSettings& settings);

}  // namespace svc::http

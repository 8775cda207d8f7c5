#pragma once
// The request/response types every handler sees, and builders for the
// service's responses (JSON by default, one error shape everywhere).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace svc::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Status = bhttp::status;
using Verb = bhttp::verb;

// Always valid UTF-8: ill-formed bytes in strings become U+FFFD.
Response json_response(Status status, const boost::json::value& body);
Response text_response(Status status, std::string body, std::string_view content_type = "text/plain; charset=utf-8");
// {"detail": "..."}: the one error shape for clients.
Response error_response(Status status, std::string_view detail);

}  // namespace svc::http

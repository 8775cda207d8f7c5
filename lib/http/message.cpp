#include "lib/http/message.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "lib/core/utf8.hpp"

namespace svc::http {

namespace json = boost::json;

Response json_response(Status status, const json::value& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(body);
  // Boost.JSON writes string bytes as they are; a client's input echoed in a
  // 422 (or an upstream's text in a 502) may not be UTF-8, which JSON must be.
  // JSON's own syntax is ASCII, so repairing the bytes keeps it JSON.
  core::make_valid_utf8(res.body());
  return res;
}

Response text_response(Status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

Response error_response(Status status, std::string_view detail) {
  return json_response(status, json::object{{"detail", detail}});
}

}  // namespace svc::http

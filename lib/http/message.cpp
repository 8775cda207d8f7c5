#include "lib/http/message.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace svc::http {

namespace json = boost::json;

Response json_response(Status status, const json::value& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(body);
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

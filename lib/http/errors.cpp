#include "lib/http/errors.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace svc::http {

namespace json = boost::json;

HttpError::HttpError(Status status, std::string detail) : std::runtime_error(std::move(detail)), status_(status) {}

HttpError& HttpError::with_header(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
  return *this;
}

ValidationError::ValidationError(std::vector<FieldError> errors)
    : std::runtime_error("request validation failed"), errors_(std::move(errors)) {}

Response validation_response(const std::vector<FieldError>& errors) {
  json::array detail;
  for (const auto& e : errors) {
    json::object entry{{"type", e.type}, {"loc", json::array{json::string(e.location), json::string(e.name)}},
                       {"msg", e.message}};
    entry["input"] = e.has_input ? json::value(e.input) : json::value(nullptr);
    if (!e.context.empty()) entry["ctx"] = e.context;
    detail.push_back(std::move(entry));
  }
  return json_response(Status::unprocessable_entity, json::object{{"detail", std::move(detail)}});
}

}  // namespace svc::http

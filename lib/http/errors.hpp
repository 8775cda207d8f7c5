#pragma once
// Exceptions a handler throws to produce a client error; the server turns
// them into responses at one boundary. Anything else becomes a logged 500.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "lib/http/message.hpp"

namespace svc::http {

class HttpError : public std::runtime_error {
 public:
  HttpError(Status status, std::string detail);
  Status status() const noexcept { return status_; }
  // Extra response headers such as Retry-After or WWW-Authenticate.
  HttpError& with_header(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }

 private:
  Status status_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// One entry of FastAPI/pydantic v2's 422 list.
struct FieldError {
  std::string location;  // "query", "path", "body", "header"
  std::string name;      // "rows"
  std::string type;      // "int_parsing", "less_than_equal", "missing", ...
  std::string message;   // "Input should be less than or equal to 20"
  std::string input;     // the offending raw value ("" when missing)
  bool has_input = true;
  boost::json::object context;  // {"le": 20}
};

class ValidationError : public std::runtime_error {
 public:
  explicit ValidationError(std::vector<FieldError> errors);
  const std::vector<FieldError>& errors() const noexcept { return errors_; }

 private:
  std::vector<FieldError> errors_;
};

// {"detail":[{"type":..,"loc":[..],"msg":..,"input":..,"ctx":{..}}]}
Response validation_response(const std::vector<FieldError>& errors);

}  // namespace svc::http

#include "lib/http/route_doc.hpp"

#include <boost/json/object.hpp>

namespace svc::http {

boost::json::value schema_ref(std::string_view name) {
  return boost::json::object{{"$ref", std::string("#/components/schemas/").append(name)}};
}

}  // namespace svc::http

#include "tests/e2e/json_reader.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace testsupport {

namespace {

Json convert(const boost::json::value& v) {
  Json out;
  switch (v.kind()) {
    case boost::json::kind::null: break;
    case boost::json::kind::bool_:
      out.type = Json::Type::boolean;
      out.boolean = v.get_bool();
      break;
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      out.type = Json::Type::number;
      out.number = v.to_number<double>();
      out.text = boost::json::serialize(v);  // "5E0" for a double: not an integer
      break;
    case boost::json::kind::string:
      out.type = Json::Type::string;
      out.text = std::string(v.get_string());
      break;
    case boost::json::kind::array:
      out.type = Json::Type::array;
      for (const auto& item : v.get_array()) out.items.push_back(convert(item));
      break;
    case boost::json::kind::object:
      out.type = Json::Type::object;
      for (const auto& [key, value] : v.get_object()) out.fields.emplace(std::string(key), convert(value));
      break;
  }
  return out;
}

}  // namespace

Json parse_json(std::string_view text) {
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec) throw std::runtime_error("JSON: " + ec.message() + " in: " + std::string(text.substr(0, 200)));
  return convert(value);
}

}  // namespace testsupport

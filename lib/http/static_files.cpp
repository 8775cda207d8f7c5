#include "lib/http/static_files.hpp"

#include <boost/json/object.hpp>

namespace svc::http {

void add_static_routes(Router& router, std::span<const StaticFile> files, const std::string& tag,
                       const std::string& page_summary) {
  for (const StaticFile& file : files) {
    const std::string media_type(file.content_type.substr(0, file.content_type.find(';')));
    RouteDoc doc;
    doc.tags = {tag};
    if (file.immutable) {
      doc.summary = "Embedded asset " + std::string(file.source);
      doc.description = "Content-hashed name: cached for a year (`Cache-Control: " + std::string(kImmutableCache) +
                        "`); a new build serves new names.";
    } else {
      doc.summary = page_summary;
      doc.description = "Embedded in the binary; loads nothing from outside the service. `Cache-Control: no-cache`.";
    }
    doc.responses = {{200, std::string(file.source), boost::json::object{{"type", "string"}}, media_type}};
    router.add(Verb::get, std::string(file.path), std::move(doc),
               [&file](RequestContext&) -> boost::asio::awaitable<Response> {
                 // string_body owns its bytes: one copy per answer, and a
                 // hashed asset is asked for once per browser and build.
                 auto res = text_response(Status::ok, std::string(file.body), file.content_type);
                 res.set(bhttp::field::cache_control, file.immutable ? kImmutableCache : kRevalidate);
                 res.set("X-Content-Type-Options", "nosniff");
                 co_return res;
               });
  }
}

}  // namespace svc::http

#include "lib/http/router.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "lib/http/percent_decode.hpp"

namespace svc::http {

namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

void check_doc(const std::string& route, const std::vector<std::string>& segments, const RouteDoc& doc) {
  const auto fail = [&route](const std::string& why) { throw std::invalid_argument(route + ": " + why); };
  if (doc.summary.empty()) fail("no summary");
  if (doc.responses.empty()) fail("no response documented");
  std::vector<std::string> path_names;
  for (const auto& s : segments)
    if (is_param(s)) path_names.push_back(s.substr(1, s.size() - 2));
  for (std::size_t i = 0; i < doc.params.size(); ++i) {
    const ParamSpec& p = doc.params[i];
    for (std::size_t j = 0; j < i; ++j)
      if (doc.params[j].name == p.name && doc.params[j].in == p.in) fail("parameter " + p.name + " listed twice");
    if (p.example_value().is_null()) fail("parameter " + p.name + " has no example");
    const bool in_pattern = std::find(path_names.begin(), path_names.end(), p.name) != path_names.end();
    if (p.in == ParamIn::path && !in_pattern) fail("path parameter " + p.name + " is not in the pattern");
    if (p.in == ParamIn::path && p.type != ParamType::string) fail("path parameter " + p.name + " must be a string");
  }
  for (const auto& name : path_names) {
    const bool listed = std::any_of(doc.params.begin(), doc.params.end(),
                                    [&name](const ParamSpec& p) { return p.in == ParamIn::path && p.name == name; });
    if (!listed) fail("{" + name + "} has no path parameter spec");
  }
}

// Calls visit(segment) for each '/'-separated segment of `path`, still
// escaped: "/" has none, "/a/" has "a" and "". False when the path does not
// start with '/' or visit returns false. Shared by patterns and requests, so
// both split alike.
template <typename Visit>
bool each_segment(std::string_view path, Visit&& visit) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  if (path.empty()) return true;
  for (;;) {
    const auto slash = path.find('/');
    if (!visit(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

// "GET, HEAD, POST": sorted, each once; a GET route answers HEAD too.
std::string allow_value(std::vector<Verb> allowed) {
  const auto n = allowed.size();
  for (std::size_t i = 0; i < n; ++i)
    if (allowed[i] == Verb::get) allowed.push_back(Verb::head);
  std::sort(allowed.begin(), allowed.end(), [](Verb a, Verb b) { return to_string(a) < to_string(b); });
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  std::string out;
  for (Verb v : allowed) {
    if (!out.empty()) out += ", ";
    out += std::string(to_string(v));
  }
  return out;
}

}  // namespace

std::string_view RequestContext::param(std::string_view name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  return {};
}

bool split_path(std::string_view path, std::vector<std::string>& out) {
  out.clear();
  std::string decoded;
  return each_segment(path, [&](std::string_view segment) {
    if (!percent_decode(segment, decoded)) return false;
    out.push_back(decoded);
    return true;
  });
}

void Router::add(Verb method, std::string pattern, RouteDoc doc, Handler handler, RouteOptions options) {
  std::vector<std::string> segments;
  if (!split_path(pattern, segments)) throw std::invalid_argument("route pattern must start with '/': " + pattern);
  if (segments.size() > kMaxSegments)
    throw std::invalid_argument("route pattern has more than " + std::to_string(kMaxSegments) + " segments: " + pattern);
  const std::string route = std::string(to_string(method)) + " " + pattern;
  for (const auto& r : routes_)
    if (r.method == method && r.segments == segments) throw std::invalid_argument("duplicate route: " + route);
  check_doc(route, segments, doc);
  auto shared = std::make_shared<const RouteDoc>(std::move(doc));
  // The handler sees its route's doc, so QueryParams can hold it to its specs.
  Handler with_doc = [d = shared.get(), h = std::move(handler)](RequestContext& ctx) {
    ctx.doc = d;
    return h(ctx);
  };
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(with_doc), options,
                          std::move(shared)});
}

Router::Match Router::match(Verb method, std::string_view path) const {
  Match result;
  // The path's segments as views into it, decoded only where they hold a
  // %-escape: no allocation per request for a plain path. A path longer than
  // every route matches none.
  std::array<std::string_view, kMaxSegments> segments;
  // Reserved in full on the first escape, so that no view into it moves.
  std::vector<std::string> decoded;
  std::size_t count = 0;
  const bool split = each_segment(path, [&](std::string_view segment) {
    if (count == kMaxSegments) return false;
    if (segment.find('%') == std::string_view::npos) {
      segments[count] = segment;
    } else {
      if (decoded.empty()) decoded.reserve(kMaxSegments);
      if (!percent_decode(segment, decoded.emplace_back())) return false;
      segments[count] = decoded.back();
    }
    ++count;
    return true;
  });
  if (!split) return result;

  const auto same_shape = [&](const Route& route) {
    if (route.segments.size() != count) return false;
    for (std::size_t i = 0; i < count; ++i)
      if (!is_param(route.segments[i]) && route.segments[i] != segments[i]) return false;
    return true;
  };
  for (const auto& route : routes_) {
    // An exact GET beats a HEAD fallback registered elsewhere; first match wins otherwise.
    if (route.method != method && !(method == Verb::head && route.method == Verb::get)) continue;
    if (!same_shape(route)) continue;
    result.kind = Match::Kind::found;
    result.route = &route;
    for (std::size_t i = 0; i < count; ++i)
      if (is_param(route.segments[i]))
        result.params.emplace_back(route.segments[i].substr(1, route.segments[i].size() - 2), segments[i]);
    return result;
  }
  std::vector<Verb> allowed;
  for (const auto& route : routes_)
    if (same_shape(route)) allowed.push_back(route.method);
  if (allowed.empty()) return result;
  result.kind = Match::Kind::method_not_allowed;
  result.allow = allow_value(std::move(allowed));
  return result;
}

std::string Router::methods() const {
  std::vector<Verb> all;
  for (const auto& route : routes_) all.push_back(route.method);
  return allow_value(std::move(all));
}

}  // namespace svc::http

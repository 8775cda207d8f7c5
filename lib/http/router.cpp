#include "lib/http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "lib/http/percent_decode.hpp"

namespace svc::http {

namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
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
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  if (path.empty()) return true;  // "/" has no segments
  std::string decoded;
  for (;;) {
    auto slash = path.find('/');
    if (!percent_decode(path.substr(0, slash), decoded)) return false;
    out.push_back(decoded);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

void Router::add(Verb method, std::string pattern, Handler handler, RouteOptions options) {
  std::vector<std::string> segments;
  if (!split_path(pattern, segments)) throw std::invalid_argument("route pattern must start with '/': " + pattern);
  for (const auto& r : routes_)
    if (r.method == method && r.segments == segments)
      throw std::invalid_argument("duplicate route: " + std::string(to_string(method)) + " " + pattern);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(handler), options});
}

Router::Match Router::match(Verb method, std::string_view path) const {
  Match result;
  std::vector<std::string> segments;
  if (!split_path(path, segments)) return result;

  std::vector<Verb> allowed;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < segments.size() && same; ++i)
      same = is_param(route.segments[i]) || route.segments[i] == segments[i];
    if (!same) continue;
    bool method_ok = route.method == method || (method == Verb::head && route.method == Verb::get);
    // An exact GET beats a HEAD fallback registered elsewhere; first match wins otherwise.
    if (method_ok && result.route == nullptr) {
      result.kind = Match::Kind::found;
      result.route = &route;
      for (std::size_t i = 0; i < segments.size(); ++i)
        if (is_param(route.segments[i]))
          result.params.emplace_back(route.segments[i].substr(1, route.segments[i].size() - 2), segments[i]);
    }
    allowed.push_back(route.method);
  }
  if (result.route != nullptr || allowed.empty()) return result;
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

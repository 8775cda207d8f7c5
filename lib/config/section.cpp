#include "lib/config/section.hpp"

namespace svc::config {

namespace {
// Appends rather than "(" + ...: GCC 12 warns falsely (-Wrestrict) on the latter.
std::string bracketed_range(const std::string& min, const std::string& max) {
  std::string out = "(";
  out.append(min).append("-").append(max).append(")");
  return out;
}
}  // namespace

std::string_view to_string(AppEnv env) {
  switch (env) {
    case AppEnv::prod: return "prod";
    case AppEnv::dev: return "dev";
    case AppEnv::test: return "test";
  }
  return "unknown";
}

std::string IntegerRange::text() const { return bracketed_range(std::to_string(min), std::to_string(max)); }

std::string SecondsRange::text() const {
  using std::chrono::milliseconds;
  return bracketed_range(seconds_text(milliseconds{static_cast<std::int64_t>(min * 1000)}),
                         seconds_text(milliseconds{static_cast<std::int64_t>(max * 1000)}));
}

std::int64_t Profile::at(AppEnv env) const noexcept {
  switch (env) {
    case AppEnv::prod: return prod;
    case AppEnv::dev: return dev;
    case AppEnv::test: return test;
  }
  return prod;
}

std::string Profile::text() const {
  std::string text;
  for (const auto env : {AppEnv::prod, AppEnv::dev, AppEnv::test}) {
    if (!text.empty()) text += " / ";
    text += std::to_string(at(env)) + " (" + std::string(to_string(env)) + ")";
  }
  return text;
}

std::string with_range(std::string help, const std::string& range) {
  const auto at = help.find("{range}");
  if (at != std::string::npos) return help.replace(at, 7, range);
  if (!help.empty()) help += ' ';
  return help + range;
}

std::string bool_text(bool value) { return value ? "true" : "false"; }

}  // namespace svc::config

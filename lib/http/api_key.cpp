#include "lib/http/api_key.hpp"

#include <algorithm>

#include <openssl/crypto.h>

#include "lib/http/errors.hpp"

namespace svc::http {

ApiKeyAuth::ApiKeyAuth(std::vector<std::string> keys) : keys_(std::move(keys)) {}

bool ApiKeyAuth::accepts(std::string_view presented) const noexcept {
  // Check every key (no early exit) and compare in constant time; only the
  // length check can short-circuit, and key lengths are not secret.
  bool ok = false;
  for (const auto& key : keys_) {
    bool same = key.size() == presented.size() && CRYPTO_memcmp(key.data(), presented.data(), key.size()) == 0;
    ok = ok || same;
  }
  return ok && !presented.empty();
}

void ApiKeyAuth::require(const RequestContext& ctx) const {
  auto presented = ctx.request[kApiKeyHeader];
  if (!accepts(std::string_view(presented.data(), presented.size())))
    throw HttpError(Status::unauthorized, "Invalid API Key");
}

namespace {
constexpr std::size_t kMinProdKeyLength = 16;

void check_length(const config::Variable& v, const std::string& key, config::AppEnv env) {
  if (env != config::AppEnv::prod || key.size() >= kMinProdKeyLength) return;
  throw config::ConfigError(v.name, config::error_line(v.name, config::shown(v, key),
                                                       "is too short (at least " + std::to_string(kMinProdKeyLength) +
                                                           " characters in prod)"));
}
}  // namespace

const config::Section<ApiKeys>& api_key_section() {
  static const auto section = [] {
    config::Section<ApiKeys> s;
    s.add({"API_KEY", "", "API key clients must present (or set API_KEYS)", true},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext& c, ApiKeys& out) {
            // A key pasted from a file often carries a trailing newline no client sends.
            const std::string key(config::trim(r.string(v, "")));
            if (key.empty()) return;
            check_length(v, key, c.app_env);
            out.keys.push_back(key);
          });
    s.add({"API_KEYS", "(none)", "more accepted API keys, comma-separated, for rotation", true},
          [](config::EnvReader& r, const config::Variable& v, const config::ReadContext& c, ApiKeys& out) {
            for (auto& extra : r.list(v)) {
              check_length(v, extra, c.app_env);
              if (std::find(out.keys.begin(), out.keys.end(), extra) == out.keys.end()) out.keys.push_back(std::move(extra));
            }
          });
    s.then([](config::EnvReader&, const config::ReadContext&, ApiKeys& out) {
      if (out.keys.empty()) throw config::ConfigError("API_KEY", "API_KEY is not set (set API_KEY or API_KEYS)");
    });
    return s;
  }();
  return section;
}

}  // namespace svc::http

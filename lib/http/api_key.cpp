#include "lib/http/api_key.hpp"

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
  auto presented = ctx.request["X-API-Key"];
  if (!accepts(std::string_view(presented.data(), presented.size())))
    throw HttpError(Status::unauthorized, "Invalid API Key");
}

}  // namespace svc::http

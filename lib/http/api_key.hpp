#pragma once
// X-API-Key authentication against a set of accepted keys (several, so keys
// can be rotated without downtime). Comparison takes the same time whatever
// the input, so response timing reveals nothing about a key.

#include <string>
#include <string_view>
#include <vector>

#include "lib/config/section.hpp"
#include "lib/http/router.hpp"

namespace svc::http {

inline constexpr std::string_view kApiKeyHeader = "X-API-Key";

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(std::vector<std::string> keys);
  bool accepts(std::string_view presented) const noexcept;
  // Throws HttpError 401 {"detail":"Invalid API Key"} unless X-API-Key is accepted.
  void require(const RequestContext& ctx) const;

 private:
  std::vector<std::string> keys_;
};

// API_KEY plus API_KEYS (rotation), never empty; in prod each key has at
// least 16 characters.
struct ApiKeys {
  std::vector<std::string> keys;
};
const config::Section<ApiKeys>& api_key_section();

}  // namespace svc::http

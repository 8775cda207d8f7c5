#pragma once
// X-Request-ID: echo a client's id when it is safe to log and return,
// otherwise generate a random UUID (version 4).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/core/random.hpp"

namespace svc::http {

// 1-128 characters of [A-Za-z0-9._:@/+=-]: nothing that can split a log line or a header.
bool is_sane_request_id(std::string_view id) noexcept;

// Cheap, non-cryptographic generator; one per connection, so no locking.
class RequestIdGenerator {
 public:
  explicit RequestIdGenerator(std::uint64_t seed) noexcept : rng_(seed) {}
  std::string next();
  // The same into caller storage, without allocating; returns a view of it.
  using Buffer = std::array<char, 36>;
  std::string_view next(Buffer& out) noexcept;

 private:
  core::SplitMix64 rng_;
};

}  // namespace svc::http

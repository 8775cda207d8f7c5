#include "lib/http/request_id.hpp"

#include <cstring>

#include "lib/core/hex.hpp"

namespace svc::http {

bool is_sane_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '@' || c == '/' || c == '+' || c == '=' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string RequestIdGenerator::next() {
  Buffer buffer;
  return std::string(next(buffer));
}

std::string_view RequestIdGenerator::next(Buffer& out) noexcept {
  std::uint64_t hi = rng_.next();
  std::uint64_t lo = rng_.next();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  // 32 digits, then cut 8-4-4-4-12.
  char digits[2 * core::kHex16Size];
  core::write_hex16(digits, hi);
  core::write_hex16(digits + core::kHex16Size, lo);
  char* p = out.data();
  const char* d = digits;
  constexpr std::size_t kGroups[] = {8, 4, 4, 4, 12};
  for (std::size_t group : kGroups) {
    if (p != out.data()) *p++ = '-';
    std::memcpy(p, d, group);
    p += group;
    d += group;
  }
  return {out.data(), out.size()};
}

}  // namespace svc::http

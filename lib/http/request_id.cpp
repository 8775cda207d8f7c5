#include "lib/http/request_id.hpp"

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
  static constexpr char hex[] = "0123456789abcdef";
  out.fill('-');
  int pos = 0;
  auto put = [&](std::uint64_t word, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = hex[(word >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return {out.data(), out.size()};
}

}  // namespace svc::http

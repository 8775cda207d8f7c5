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

namespace {
// splitmix64's output function.
std::uint64_t mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

// The seed is mixed, not used as the state: callers seed generators with
// nearby values (the server uses base + connection number), and nearby states
// would walk the same sequence a few steps apart, repeating ids.
RequestIdGenerator::RequestIdGenerator(std::uint64_t seed) noexcept : state_(mix(seed)) {}

// splitmix64: statistically good, one add and three multiplies per word.
std::uint64_t RequestIdGenerator::next_word() noexcept {
  return mix(state_ += 0x9e3779b97f4a7c15ULL);
}

std::string RequestIdGenerator::next() {
  Buffer buffer;
  return std::string(next(buffer));
}

std::string_view RequestIdGenerator::next(Buffer& out) noexcept {
  std::uint64_t hi = next_word();
  std::uint64_t lo = next_word();
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

#pragma once
// Lower-case hex of 64-bit words, two digits per table load: request ids,
// trace ids and ETags are written on every request.

#include <array>
#include <cstdint>
#include <cstring>

namespace svc::core {

namespace detail {
inline constexpr auto kHexPairs = [] {
  constexpr char digits[] = "0123456789abcdef";
  std::array<char, 512> pairs{};
  for (std::size_t b = 0; b < 256; ++b) {
    pairs[2 * b] = digits[b >> 4];
    pairs[2 * b + 1] = digits[b & 0xf];
  }
  return pairs;
}();
}  // namespace detail

// Room write_hex16 fills.
inline constexpr std::size_t kHex16Size = 16;

// The 16 digits of `word`, most significant first, at out[0, 16).
inline void write_hex16(char* out, std::uint64_t word) noexcept {
  for (int i = 7; i >= 0; --i) {
    std::memcpy(out + 2 * i, &detail::kHexPairs[2 * (word & 0xff)], 2);
    word >>= 8;
  }
}

}  // namespace svc::core

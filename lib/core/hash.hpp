#pragma once
// MurmurHash64A (Austin Appleby, public domain): eight bytes per step, for
// ETags, the metrics' label lookups and the prepared statements' SQL lookups,
// which run on every request.
// zlib's CRC-32 and Adler-32, the ETag before, took 7.8 instructions per byte
// (a fifth of a 20-row list page's, callgrind). Not for untrusted keys in a
// table an attacker can fill: the tables that use it are bounded.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace svc::core {

// `seed` chains values: murmur64a(b, murmur64a(a)) differs for ("a","bc")
// and ("ab","c"), since each value's length is mixed in.
inline std::uint64_t murmur64a(std::string_view bytes, std::uint64_t seed = 0) noexcept {
  constexpr std::uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  std::uint64_t h = seed ^ (static_cast<std::uint64_t>(bytes.size()) * m);
  const char* p = bytes.data();
  const char* const end = p + bytes.size() / 8 * 8;
  for (; p != end; p += 8) {
    std::uint64_t k;
    std::memcpy(&k, p, 8);  // little-endian on every target we build for
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const std::size_t rest = bytes.size() % 8;
  if (rest > 0) {
    for (std::size_t i = rest; i-- > 0;) h ^= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

}  // namespace svc::core

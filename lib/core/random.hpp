#pragma once
// splitmix64: statistically good for ids and jitter, one add and three
// multiplies per word, and a state small enough to keep one per connection
// or per loop, so no generator is shared (or locked) across threads. Not for
// secrets.

#include <cstdint>
#include <random>

namespace svc::core {

class SplitMix64 {
 public:
  // The seed is mixed, not used as the state: callers seed generators with
  // nearby values (a base plus a connection number), and nearby states would
  // walk the same sequence a few steps apart.
  explicit SplitMix64(std::uint64_t seed) noexcept : state_(mix(seed)) {}
  // Seeded from std::random_device.
  static SplitMix64 from_entropy() {
    std::random_device rd;
    return SplitMix64((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  }

  std::uint64_t next() noexcept { return mix(state_ += kGolden); }
  // Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  static constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  static constexpr std::uint64_t mix(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace svc::core

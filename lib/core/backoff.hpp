#pragma once
// Capped exponential backoff with jitter, for every retry loop of the kit
// (database reconnects, the event writer, outbound HTTP retries). Each pause
// is the current step times a random factor in [0.5, 1], so N replicas that
// failed together do not retry in lockstep; the jitter only shortens a
// pause, so `max` bounds how late a retry can be.

#include <chrono>

#include "lib/core/random.hpp"

namespace svc::core {

class Backoff {
 public:
  using Duration = std::chrono::steady_clock::duration;
  Backoff(Duration first, Duration max) : first_(first), max_(max), step_(first), rng_(SplitMix64::from_entropy()) {}

  // The next pause; the step doubles up to `max`.
  Duration next() noexcept {
    const auto pause = std::chrono::duration_cast<Duration>(step_ * (0.5 + 0.5 * rng_.unit()));
    step_ = step_ * 2 > max_ ? max_ : step_ * 2;
    return pause;
  }
  // The pause before retry number `n` (0-based), without changing the state.
  Duration nth(unsigned n) noexcept {
    auto step = first_;
    for (unsigned i = 0; i < n && step < max_; ++i) step = step * 2 > max_ ? max_ : step * 2;
    return std::chrono::duration_cast<Duration>(step * (0.5 + 0.5 * rng_.unit()));
  }
  void reset() noexcept { step_ = first_; }
  bool at_start() const noexcept { return step_ == first_; }

 private:
  Duration first_, max_, step_;
  SplitMix64 rng_;
};

}  // namespace svc::core

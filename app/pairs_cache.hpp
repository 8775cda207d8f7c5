#pragma once
// /api/v1/binance/pairs changes rarely: its answer is kept PAIRS_CACHE_SECONDS.
// One small mutex; a miss fetches outside it (two concurrent misses may both
// fetch, which is cheaper than making one wait on the other's upstream call).

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace p2p {

class PairsCache {
 public:
  explicit PairsCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  std::optional<std::string> get() const {
    std::lock_guard lock(mutex_);
    if (!body_ || std::chrono::steady_clock::now() - stored_at_ >= ttl_) return std::nullopt;
    return body_;
  }
  void put(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
    stored_at_ = std::chrono::steady_clock::now();
  }

 private:
  std::chrono::milliseconds ttl_;
  mutable std::mutex mutex_;
  std::optional<std::string> body_;
  std::chrono::steady_clock::time_point stored_at_;
};

}  // namespace p2p

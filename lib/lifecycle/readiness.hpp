#pragma once
// What /ready reports: the lifecycle phase plus a list of checks that
// components register. Probes may arrive on any thread at any time.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace svc::lifecycle {

enum class Phase { starting, ready, stopping };

struct CheckResult {
  enum class Status { ok, degraded, failed };
  Status status = Status::ok;
  std::string detail;  // why, when not ok; shown to clients, so no secrets

  static CheckResult ok() { return {}; }
  static CheckResult degraded(std::string why) { return {Status::degraded, std::move(why)}; }
  static CheckResult failed(std::string why) { return {Status::failed, std::move(why)}; }
};

std::string_view to_string(CheckResult::Status status);

class Readiness {
 public:
  using Check = std::function<boost::asio::awaitable<CheckResult>()>;

  // A critical check that fails makes the service not ready; an optional one
  // only shows up as degraded.
  void add_check(std::string name, bool critical, Check check);

  void set_phase(Phase phase) noexcept { phase_.store(phase, std::memory_order_release); }
  Phase phase() const noexcept { return phase_.load(std::memory_order_acquire); }

  struct Report {
    bool ready = false;
    std::string detail;  // "Application not ready: ..." when not ready
    struct Entry {
      std::string name;
      CheckResult result;
    };
    std::vector<Entry> checks;
  };
  boost::asio::awaitable<Report> evaluate() const;

 private:
  struct Registered {
    std::string name;
    bool critical;
    Check check;
  };
  std::atomic<Phase> phase_{Phase::starting};
  mutable std::mutex mutex_;  // guards checks_ (registration vs. probes)
  std::vector<Registered> checks_;
};

}  // namespace svc::lifecycle

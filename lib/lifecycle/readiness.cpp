#include "lib/lifecycle/readiness.hpp"

namespace svc::lifecycle {

std::string_view to_string(CheckResult::Status status) {
  switch (status) {
    case CheckResult::Status::ok: return "ok";
    case CheckResult::Status::degraded: return "degraded";
    case CheckResult::Status::failed: return "failed";
  }
  return "failed";
}

void Readiness::add_check(std::string name, bool critical, Check check) {
  std::lock_guard lock(mutex_);
  checks_.push_back({std::move(name), critical, std::move(check)});
}

boost::asio::awaitable<Readiness::Report> Readiness::evaluate() const {
  Report report;
  Phase phase = this->phase();
  if (phase == Phase::starting) {
    report.detail = "Application not ready: startup incomplete";
    co_return report;
  }
  if (phase == Phase::stopping) {
    report.detail = "Application not ready: shutting down";
    co_return report;
  }
  std::vector<Registered> checks;
  {
    std::lock_guard lock(mutex_);
    checks = checks_;
  }
  report.ready = true;
  for (const auto& c : checks) {
    CheckResult result;
    try {
      result = co_await c.check();
    } catch (const std::exception& e) {
      result = CheckResult::failed(e.what());
    }
    if (!c.critical && result.status == CheckResult::Status::failed) result.status = CheckResult::Status::degraded;
    if (c.critical && result.status == CheckResult::Status::failed && report.ready) {
      report.ready = false;
      report.detail = "Application not ready: " + result.detail;
    }
    report.checks.push_back({c.name, std::move(result)});
  }
  co_return report;
}

}  // namespace svc::lifecycle

#include "lib/service/request_telemetry.hpp"

#include <charconv>
#include <cstdio>

#include "lib/core/hash.hpp"
#include "lib/telemetry/logging.hpp"

namespace svc::service {

namespace asio = boost::asio;
using telemetry::kByteBuckets;
using telemetry::kDurationBuckets;

namespace {
double seconds_of(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

std::string_view method_label(std::string_view method) noexcept {
  // OTel's http.request.method: the methods of RFC 9110 and PATCH (RFC 5789),
  // case-sensitive; any other is "_OTHER", so clients cannot mint series.
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
    if (method == known) return known;
  return "_OTHER";
}

HttpServerMetrics::HttpServerMetrics(telemetry::Registry& r)
    : duration(r.histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.",
                           {"http_request_method", "http_route", "http_response_status_code"}, kDurationBuckets)),
      active(r.gauge("http_server_active_requests", "Number of active HTTP server requests.").with({})),
      request_size(r.histogram("http_server_request_body_size_bytes", "Size of HTTP server request bodies.",
                               {"http_request_method", "http_route"}, kByteBuckets)),
      response_size(r.histogram("http_server_response_body_size_bytes", "Size of HTTP server response bodies.",
                                {"http_request_method", "http_route"}, kByteBuckets)) {}

namespace {
// The status as its three digits (a label value).
std::array<char, 3> status_digits(unsigned status) noexcept {
  return {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
          static_cast<char>('0' + status % 10)};
}

std::size_t cells_slot(std::string_view method, std::string_view route, unsigned status) noexcept {
  return static_cast<std::size_t>(core::murmur64a(route, core::murmur64a(method, status)) % HttpServerCells::kSlots);
}
}  // namespace

HttpServerCells::Cells HttpServerCells::from_families(std::string_view method, std::string_view route,
                                                      std::string_view status) const {
  return {&metrics_.duration.with({method, route, status}), &metrics_.request_size.with({method, route}),
          &metrics_.response_size.with({method, route})};
}

HttpServerCells::Cells HttpServerCells::find_or_add(std::string_view method, std::string_view route, unsigned status) {
  const std::size_t start = cells_slot(method, route, status);
  const auto same = [&](const Entry& e) { return e.status == status && e.route == route && e.method == method; };
  // Slots fill in probe order and are never cleared: an empty slot ends the search.
  for (std::size_t i = 0; i < kSlots; ++i) {
    const Entry* e = slots_[(start + i) % kSlots].load(std::memory_order_acquire);
    if (e == nullptr) break;
    if (same(*e)) return e->cells;
  }
  const auto digits = status_digits(status);
  const std::string_view status_text(digits.data(), digits.size());
  std::lock_guard lock(mutex_);
  std::size_t i = 0;
  for (; i < kSlots; ++i) {
    const Entry* e = slots_[(start + i) % kSlots].load(std::memory_order_relaxed);
    if (e == nullptr) break;
    if (same(*e)) return e->cells;  // another thread added it meanwhile
  }
  const Cells cells = from_families(method, route, status_text);
  if (owned_.size() >= kMaxEntries || i == kSlots) return cells;
  owned_.push_back(std::make_unique<Entry>(Entry{std::string(method), std::string(route), status, cells}));
  slots_[(start + i) % kSlots].store(owned_.back().get(), std::memory_order_release);
  return cells;
}

RequestTelemetry::RequestTelemetry(telemetry::Registry& metrics, events::Writer* events, bool access_log,
                                   spdlog::logger& log)
    : http_(metrics), events_(events), access_log_(access_log), log_(log) {}

void RequestTelemetry::started() noexcept { http_.active.add(1); }

bool RequestTelemetry::waits_before_write() const noexcept { return events_ != nullptr && events_->sync_writes(); }

events::Event RequestTelemetry::event_of(const http::ObservedRequest& r) const noexcept {
  events::Event e;
  e.kind = "http";
  e.time = r.started;
  e.request_id = r.request_id;
  e.trace_id = r.trace_id;
  e.method = method_label(r.method);
  e.route = r.route;
  e.status = static_cast<int>(r.status);
  e.duration_seconds = seconds_of(r.duration);
  e.request_bytes = r.request_bytes;
  e.response_bytes = r.response_bytes;
  return e;
}

// Synchronous event writes: the event is stored before the response leaves.
asio::awaitable<void> RequestTelemetry::before_write(const http::ObservedRequest& r) {
  co_await events_->submit_and_wait(event_of(r));
}

void RequestTelemetry::finished(const http::ObservedRequest& r) noexcept {
  if (events_ != nullptr && !events_->sync_writes()) events_->submit(event_of(r));
  const double seconds = seconds_of(r.duration);
  try {
    const auto cells = cells_.find_or_add(method_label(r.method), r.route, r.status);
    cells.duration->observe(seconds);
    cells.request_size->observe(static_cast<double>(r.request_bytes));
    cells.response_size->observe(static_cast<double>(r.response_bytes));
  } catch (...) {  // out of memory for a new label set: this request goes unmeasured
  }
  http_.active.add(-1);
  if (!access_log_) return;
  const auto digits = status_digits(r.status);
  const std::string_view status(digits.data(), digits.size());
  char duration_ms[32];
  const int n = std::snprintf(duration_ms, sizeof duration_ms, "%.3f", seconds * 1000);
  char bytes[24];
  const auto bytes_end = std::to_chars(bytes, bytes + sizeof bytes, r.response_bytes).ptr;
  try {
    std::string message;
    message.append(r.method).append(" ").append(r.path).append(" ").append(status);
    telemetry::log_fields(log_, spdlog::level::info,
                          {{"request_id", r.request_id},
                           {"trace_id", r.trace_id},
                           {"method", r.method},
                           {"route", r.route},
                           {"status", status},
                           {"duration_ms", std::string_view(duration_ms, static_cast<std::size_t>(n))},
                           {"response_bytes", std::string_view(bytes, static_cast<std::size_t>(bytes_end - bytes))}},
                          message);
  } catch (...) {  // out of memory: no access log line
  }
}

}  // namespace svc::service

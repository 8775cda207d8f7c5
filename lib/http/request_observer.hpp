#pragma once
// What the server tells whoever watches its requests (metrics, events, the
// access log: lib/service wires one), so that the server knows nothing of
// telemetry. Called on the session's event loop; must not block.

#include <chrono>
#include <cstddef>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace svc::http {

struct ObservedRequest {
  std::string_view method;
  std::string_view route;  // the matched template (never the raw path); "" when none matched
  std::string_view path;   // without the query
  std::string_view request_id;
  std::string_view trace_id;
  unsigned status = 0;
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  std::chrono::steady_clock::duration duration{};
  std::chrono::system_clock::time_point started;
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // A request was read (before its handler runs).
  virtual void started() noexcept = 0;
  // True if before_write() must be awaited before each response is written.
  virtual bool waits_before_write() const noexcept { return false; }
  // After the handler, before the response is written (only when waits_before_write()).
  virtual boost::asio::awaitable<void> before_write(const ObservedRequest& request);
  // After the response was written (or failed to be).
  virtual void finished(const ObservedRequest& request) noexcept = 0;
};

inline boost::asio::awaitable<void> RequestObserver::before_write(const ObservedRequest&) { co_return; }

}  // namespace svc::http

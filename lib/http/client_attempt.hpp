#pragma once
// What every step of one outbound call shares (inside the HTTP client):
// the call's plan, the deadline of a step within the call's total, and the
// error an attempt fails with (retryable or not).

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include "lib/http/client.hpp"
#include "lib/http/client_url.hpp"

namespace svc::http::detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One attempt failed; `retryable` when another attempt may succeed (for
// calls marked retry_safe).
class AttemptError : public ClientError {
 public:
  AttemptError(ClientPhase phase, std::string message, bool retryable_, unsigned status = 0,
               std::optional<std::chrono::seconds> retry_after = std::nullopt)
      : ClientError(phase, std::move(message), status, retry_after), retryable(retryable_) {}
  bool retryable;
};

[[noreturn]] void throw_cancelled();

// A deadline and what it stands for: a step's own timeout (connect_timeout,
// read_timeout) or the call's total timeout, whichever ends first.
struct Budget {
  Clock::time_point at;
  const char* step;     // "connect", "read", ...
  milliseconds length;  // the timeout that sets `at`
  bool total;           // the call's total timeout is the one that ends first

  AttemptError expired() const;
};

// What one call needs at every step.
struct CallPlan {
  const ClientRequest& request;
  const TargetUrl& url;
  const boost::beast::http::request<boost::beast::http::string_body>& message;
  std::string origin_key;      // scheme://host:port [via proxy]: one pool per key
  Clock::time_point deadline;  // of the whole call
  milliseconds total;
  boost::asio::any_io_executor executor;  // the caller's

  Budget budget(const char* step, milliseconds timeout) const;
};

bool retryable_status(unsigned status) noexcept;
// "host:port", with brackets around an IPv6 address.
std::string host_port(std::string_view host, std::uint16_t port);
// A single-line, bounded excerpt of a response body for an error message.
std::string excerpt(std::string_view body);

}  // namespace svc::http::detail

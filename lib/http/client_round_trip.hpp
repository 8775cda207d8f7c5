#pragma once
// One request on one connection (inside the HTTP client): write it, read
// the response (interim 1xx answers skipped) within the read budget and the
// response size cap.

#include <boost/asio/awaitable.hpp>

#include "lib/http/client_attempt.hpp"
#include "lib/http/client_connection.hpp"
#include "lib/http/client_settings.hpp"

namespace svc::http::detail {

struct RoundTrip {
  ClientResponse response;
  bool reusable = false;  // the connection may carry another request
  bool stale = false;     // a reused connection failed before any response byte: try a new one
};

// Throws AttemptError or system_error(operation_aborted).
boost::asio::awaitable<RoundTrip> round_trip(ClientConnection& conn, const CallPlan& plan,
                                             const ClientSettings& settings);

}  // namespace svc::http::detail

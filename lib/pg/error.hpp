#pragma once
// Errors from lib/pg: an error_code category for what went wrong on our side
// (connect, I/O, timeout, pool) and PgError carrying the server's SQLSTATE,
// message and detail.

#include <string>
#include <string_view>
#include <stdexcept>

#include <boost/system/error_code.hpp>

namespace svc::pg {

enum class errc {
  connect_failed = 1,  // could not establish a connection
  connection_lost,     // the socket or the backend went away mid-use
  query_failed,        // the server answered with an error (see PgError::sqlstate)
  timeout,             // a query or a connect exceeded its deadline
  cancelled,           // the awaiting coroutine was cancelled
  pool_timeout,        // no connection within DB_POOL_TIMEOUT
  pool_closed,         // the pool is stopping or stopped
  protocol,            // libpq reported something we did not expect
  deadline_exceeded,   // a statement passed its deadline (DB_STATEMENT_DEADLINE); on a shared
                       // connection every statement in flight fails with it and the connection is replaced
};

const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

// what() is the server's (or our) message, ready for a log line.
class PgError : public std::runtime_error {
 public:
  PgError(errc code, std::string message, std::string sqlstate = {}, std::string detail = {});
  boost::system::error_code code() const noexcept { return make_error_code(code_); }
  errc code_value() const noexcept { return code_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& detail() const noexcept { return detail_; }

  bool is_unique_violation() const noexcept { return sqlstate_ == "23505"; }
  bool is_foreign_key_violation() const noexcept { return sqlstate_ == "23503"; }
  bool is_serialization_failure() const noexcept { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }
  // The pool (and handlers) treat these as "database unavailable" (503).
  bool is_unavailable() const noexcept;
  // The database did not answer in time (504): a statement deadline or a query timeout.
  bool is_timeout() const noexcept { return code_ == errc::deadline_exceeded || code_ == errc::timeout; }

 private:
  errc code_;
  std::string sqlstate_, message_, detail_;
};

// SQLSTATEs after which a connection must not be reused: admin shutdown,
// crash shutdown, cannot connect now, read-only after failover, class 08.
bool sqlstate_kills_connection(std::string_view sqlstate) noexcept;

}  // namespace svc::pg

namespace boost::system {
template <>
struct is_error_code_enum<svc::pg::errc> : std::true_type {};
}  // namespace boost::system

#include "lib/pg/error.hpp"

namespace svc::pg {

namespace {
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "pg"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::connect_failed: return "could not connect to the database";
      case errc::connection_lost: return "database connection lost";
      case errc::query_failed: return "query failed";
      case errc::timeout: return "database operation timed out";
      case errc::cancelled: return "database operation cancelled";
      case errc::pool_timeout: return "no database connection available in time";
      case errc::pool_closed: return "database pool is closed";
      case errc::protocol: return "unexpected database response";
      case errc::deadline_exceeded: return "database statement passed its deadline";
    }
    return "unknown pg error";
  }
};
}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category instance;  // stateless; constant after construction
  return instance;
}

PgError::PgError(errc code, std::string message, std::string sqlstate, std::string detail)
    : std::runtime_error(message),
      code_(code),
      sqlstate_(std::move(sqlstate)),
      message_(std::move(message)),
      detail_(std::move(detail)) {}

bool sqlstate_kills_connection(std::string_view s) noexcept {
  return s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006";
}

bool PgError::is_unavailable() const noexcept {
  switch (code_) {
    case errc::connect_failed:
    case errc::connection_lost:
    case errc::pool_timeout:
    case errc::pool_closed:
      return true;
    case errc::query_failed:
      return sqlstate_kills_connection(sqlstate_) || sqlstate_ == "53300";  // too_many_connections
    default:
      return false;
  }
}

}  // namespace svc::pg

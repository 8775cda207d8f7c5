#include "lib/pg/libpq_errors.hpp"

namespace svc::pg {

std::string one_line(std::string_view raw) {
  std::string msg;
  msg.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\n') {
      msg.push_back(raw[i] == '\t' ? ' ' : raw[i]);
      continue;
    }
    while (i + 1 < raw.size() && (raw[i + 1] == '\t' || raw[i + 1] == ' ' || raw[i + 1] == '\n')) ++i;
    if (i + 1 < raw.size()) msg += "; ";
  }
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  return msg;
}

std::string libpq_error(const PGconn* conn) {
  // libpq prefixes multi-host attempts with "connection to server at ... failed:"; keep it, it has no secrets.
  std::string msg = one_line(conn ? PQerrorMessage(conn) : "out of memory");
  return msg.empty() ? "unknown libpq error" : msg;
}

PgError error_from_result(const PGresult* r) {
  auto field = [r](int code) {
    const char* v = PQresultErrorField(r, code);
    return v ? std::string(v) : std::string();
  };
  std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) {
    message = one_line(PQresultErrorMessage(r));
  }
  return PgError(errc::query_failed, message, field(PG_DIAG_SQLSTATE), field(PG_DIAG_MESSAGE_DETAIL));
}


}  // namespace svc::pg

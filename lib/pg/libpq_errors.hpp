#pragma once
// libpq's error reports as lib/pg errors, for the code that drives libpq
// (connection.cpp, pipelined_connection.cpp).

#include <string>
#include <string_view>

#include <libpq-fe.h>

#include "lib/pg/error.hpp"

namespace svc::pg {

// libpq's messages span lines ("Connection refused\n\tIs the server running...",
// "ERROR: ...\nDETAIL: ..."): folded into one, so that a message stays one
// log record and one JSON string.
std::string one_line(std::string_view raw);
// PQerrorMessage, one line, never empty.
std::string libpq_error(const PGconn* conn);
// A PGRES_FATAL_ERROR result as PgError(query_failed) with SQLSTATE and detail.
PgError error_from_result(const PGresult* r);

}  // namespace svc::pg

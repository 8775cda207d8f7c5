#pragma once
// The process logger: built once in main and handed to every component, never
// registered in spdlog's global registry. LOG_FORMAT=json writes one JSON
// object per line (time, level, logger, message, then structured fields such
// as request_id and trace_id) for log shippers; text appends them as key=value.
//
// Structured fields travel inside the message: log_fields() prefixes the
// payload with "\x1e key \x1f value \x1f ... \x1e", which only the formatters
// here read; a message that does not start with \x1e is a plain message.
// Request-scoped lines go through RequestLog (request_log.hpp): the request id
// and trace id are passed explicitly, never through thread-local state, since
// a request's coroutine may resume on another thread after any co_await.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "lib/config/settings.hpp"

namespace svc::telemetry {

// Writes to stdout. Throws std::invalid_argument for an unknown level name.
std::shared_ptr<spdlog::logger> make_logger(std::string name, std::string_view level, config::LogFormat format);

struct LogField {
  std::string_view key;    // [a-z_]+
  std::string_view value;  // a plain decimal number is written as a JSON number
};

// One record with structured fields; empty values are left out.
void log_fields(spdlog::logger& log, spdlog::level::level_enum level, std::initializer_list<LogField> fields,
                std::string_view message);

// "2024-05-01T12:00:00.123456Z" (RFC 3339, UTC, microseconds).
void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point time);

// JSON string escaping per RFC 8259 (control characters as \u00XX).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace svc::telemetry

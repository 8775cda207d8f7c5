#pragma once
// The process logger: built once in main and handed to every component, never
// registered in spdlog's global registry. LOG_FORMAT=json writes one JSON
// object per line (time, level, logger, message, then structured fields such
// as request_id and trace_id) for log shippers; text appends them as key=value.
//
// Structured fields travel inside the message: log_fields() prefixes the
// payload with "\x1e key \x1f value \x1f ... \x1e", which only the formatters
// here read; a message that does not start with \x1e is a plain message.
// A request's lines carry its request_id and trace_id as fields, passed
// explicitly, never through thread-local state: a request's coroutine may
// resume on another thread after any co_await.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "lib/config/section.hpp"

namespace svc::telemetry {

enum class LogFormat { text, json };
std::string_view to_string(LogFormat format);

// LOG_LEVEL, LOG_FORMAT.
struct LogSettings {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  LogFormat format = LogFormat::text;
};
const config::Section<LogSettings>& log_section();

// Writes to stdout. Throws std::invalid_argument for an unknown level name.
std::shared_ptr<spdlog::logger> make_logger(std::string name, std::string_view level, LogFormat format);

struct LogField {
  std::string_view key;    // [a-z_]+
  std::string_view value;  // a plain decimal number is written as a JSON number
};

// One record with structured fields; empty values are left out.
void log_fields(spdlog::logger& log, spdlog::level::level_enum level, std::initializer_list<LogField> fields,
                std::string_view message);

}  // namespace svc::telemetry

#pragma once
// The process logger: built once in main and handed to every component, never
// registered in spdlog's global registry. LOG_FORMAT=json writes one JSON
// object per line (time, level, logger, message) for log shippers.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "lib/config/settings.hpp"

namespace svc::telemetry {

// Writes to stdout. Throws std::invalid_argument for an unknown level name.
std::shared_ptr<spdlog::logger> make_logger(std::string name, std::string_view level, config::LogFormat format);

// JSON string escaping per RFC 8259 (control characters as \u00XX).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace svc::telemetry

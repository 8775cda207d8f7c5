#pragma once
// Timestamps as text: PostgreSQL's ISO output and ISO 8601 / RFC 3339 in, one
// UTC form out. One parser for the driver and for API parameters.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace svc::pg {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

// "2026-11-23 09:32:53.573555+00", "2026-11-23T09:32:53Z", "…+05:30", "…-03",
// "2026-11-23T09:32:53" (no offset: UTC) and "2026-11-23" (midnight UTC).
// nullopt for anything else, including out-of-range fields.
std::optional<Micros> parse_timestamp(std::string_view text) noexcept;

// The instants written here as PostgreSQL reads them back: years 1 to 9999
// in UTC. PostgreSQL has no year 0 (it writes 1 BC) and this form no
// five-digit years, so a parameter outside fails in the database (a 500)
// unless the caller checks it first.
bool in_timestamp_range(Micros t) noexcept;
inline constexpr std::string_view kTimestampRangeText = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z";

// "2026-11-23T09:32:53.573555Z"
std::string format_timestamp(Micros t);
// The same, appended (no allocation of its own: once per row of an answer).
void append_timestamp(std::string& out, Micros t);

}  // namespace svc::pg

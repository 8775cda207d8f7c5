#pragma once
// The kit's one way to write a time: RFC 3339 in UTC with microseconds,
// "2026-11-23T09:32:53.573555Z" (logs, JSON answers, events).

#include <chrono>
#include <cstddef>
#include <string>

namespace svc::core {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

// Room write_rfc3339 needs: 27 bytes for years 0-9999, more (snprintf's
// form) for the years outside, which RFC 3339 cannot write.
inline constexpr std::size_t kRfc3339MaxSize = 48;
// Written digit by digit at `out` (kRfc3339MaxSize bytes of room); returns
// the end. It runs for every row of every answer.
char* write_rfc3339(char* out, Micros t) noexcept;
void append_rfc3339(std::string& out, Micros t);
inline void append_rfc3339(std::string& out, std::chrono::system_clock::time_point t) {
  append_rfc3339(out, std::chrono::floor<std::chrono::microseconds>(t));
}
std::string rfc3339(Micros t);

}  // namespace svc::core

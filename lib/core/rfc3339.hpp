#pragma once
// The kit's one way to write a time: RFC 3339 in UTC with microseconds,
// "2026-11-23T09:32:53.573555Z" (logs, JSON answers, events).

#include <chrono>
#include <string>

namespace svc::core {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

// Appended digit by digit: it runs for every row of every answer.
void append_rfc3339(std::string& out, Micros t);
inline void append_rfc3339(std::string& out, std::chrono::system_clock::time_point t) {
  append_rfc3339(out, std::chrono::floor<std::chrono::microseconds>(t));
}
std::string rfc3339(Micros t);

}  // namespace svc::core

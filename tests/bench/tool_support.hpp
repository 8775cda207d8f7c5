#pragma once
// What the bench tools (hold_connections, soak_load) share: ASCII helpers
// for their own HTTP parsing (header names compare case-insensitively, values
// are trimmed of spaces and tabs) and their signal set-up. Standard library
// and POSIX only: the tools share no code with the server they load.

#include <signal.h>

#include <string_view>

namespace bench {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// SIGTERM and SIGINT call `on_stop` (which only sets a flag or writes a
// pipe); SIGPIPE is ignored, so a peer's close shows as EPIPE.
inline void handle_stop_signals(void (*on_stop)(int)) {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace bench

#pragma once
// Small helpers every e2e test file uses: substring checks on output and
// bodies, a sample of a /metrics text, and elapsed milliseconds on the
// steady clock.

#include <chrono>
#include <string>
#include <string_view>

namespace testsupport {

inline bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The value of the sample line of a Prometheus text that starts with
// `series` + ' ' (-1 if absent), e.g. series = R"(x_total{exchange="bybit"})".
inline double metric_sample(const std::string& metrics, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = metrics.find(series + ' ', pos)) != std::string::npos) {
    if (pos == 0 || metrics[pos - 1] == '\n') return std::stod(metrics.substr(pos + series.size() + 1));
    ++pos;
  }
  return -1;
}

inline long long ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}
inline long long ms_since(std::chrono::steady_clock::time_point t0) {
  return ms_between(t0, std::chrono::steady_clock::now());
}

}  // namespace testsupport

#pragma once
// Reading typed values from an environment, with one error type whose message
// is the single line the process prints before exiting with code 2.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace svc::config {

// Where variables come from: the process environment in main, a map in tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

EnvLookup process_env();
EnvLookup map_env(std::map<std::string, std::string> values);

// `what()` is the whole user-facing line without the "config error: " prefix,
// e.g. `PORT="abc" is not a port (1-65535)`.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string variable, std::string message);
  const std::string& variable() const noexcept { return variable_; }

 private:
  std::string variable_;
};

// One documented variable: drives --help, --print-config and the reader.
struct Variable {
  std::string name;
  std::string default_text;  // as shown by --help ("" = required)
  std::string help;
  bool secret = false;
  // What a valid value looks like, quoted by "is not set (expected ...)" lines.
  std::string expected = {};
};

// Reads variables through an EnvLookup, validates them and remembers the
// effective value of each (masked when secret) for --print-config.
// An empty value counts as unset, so `PORT=` falls back to the default.
class EnvReader {
 public:
  explicit EnvReader(EnvLookup lookup);

  std::optional<std::string> raw(std::string_view name) const;

  std::string string(const Variable& v, std::string fallback);
  std::string required_string(const Variable& v);  // ConfigError "X is not set (expected ...)"
  std::int64_t integer(const Variable& v, std::int64_t fallback, std::int64_t min, std::int64_t max);
  std::uint16_t port(const Variable& v, std::uint16_t fallback);
  bool boolean(const Variable& v, bool fallback);  // true/false/1/0/yes/no/on/off, any case
  std::chrono::milliseconds seconds(const Variable& v, double fallback, double min, double max);
  std::chrono::milliseconds seconds(const Variable& v, std::chrono::milliseconds fallback, double min, double max);
  std::string one_of(const Variable& v, std::string fallback, const std::vector<std::string>& allowed);
  std::vector<std::string> list(const Variable& v);  // comma-separated, trimmed, empties dropped

  // Records a value this reader did not parse itself (e.g. a URL parsed elsewhere).
  // Replaces the entry of a variable already read, keeping its position, so a
  // value resolved after reading (THREADS=0 -> 8) is shown as it is used.
  void record(const Variable& v, std::string shown_value);

  struct Effective {
    std::string name;
    std::string value;  // masked when secret
  };
  const std::vector<Effective>& effective() const noexcept { return effective_; }

 private:
  EnvLookup lookup_;
  std::vector<Effective> effective_;
};

// The value as it may appear in an error line: secrets masked.
std::string shown(const Variable& v, std::string_view value);

// `NAME="value" problem` on one line: the value is quoted, with quotes,
// backslashes and control characters escaped. `safe_value` must already be
// fit to show (see shown()).
std::string error_line(std::string_view name, std::string_view safe_value, std::string_view problem);

// Seconds as --help and --print-config show them: "5", "0.5", "75".
std::string seconds_text(std::chrono::milliseconds value);

// Without leading and trailing ASCII white space.
std::string_view trim(std::string_view text) noexcept;

}  // namespace svc::config

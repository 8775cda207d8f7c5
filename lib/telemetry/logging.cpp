#include "lib/telemetry/logging.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "lib/core/escape.hpp"
#include "lib/core/rfc3339.hpp"

namespace svc::telemetry {

namespace {

constexpr char kFieldsMark = '\x1e';
constexpr char kFieldSep = '\x1f';

// Splits a payload into its structured fields and the message proper.
struct Split {
  std::string_view fields;  // "k\x1fv\x1fk\x1fv\x1f"
  std::string_view message;
};
Split split_payload(std::string_view payload) {
  if (payload.empty() || payload.front() != kFieldsMark) return {{}, payload};
  auto end = payload.find(kFieldsMark, 1);
  if (end == std::string_view::npos) return {{}, payload};
  return {payload.substr(1, end - 1), payload.substr(end + 1)};
}

template <class Fn>
void for_each_field(std::string_view fields, Fn fn) {
  while (!fields.empty()) {
    auto k = fields.find(kFieldSep);
    if (k == std::string_view::npos) return;
    auto v = fields.find(kFieldSep, k + 1);
    if (v == std::string_view::npos) return;
    fn(fields.substr(0, k), fields.substr(k + 1, v - k - 1));
    fields.remove_prefix(v + 1);
  }
}

bool is_plain_number(std::string_view v) {
  if (v.empty() || v.size() > 20 || v.front() == '.' || v.back() == '.') return false;
  std::size_t start = v.front() == '-' ? 1 : 0;
  if (start == v.size() || (v[start] == '0' && v.size() > start + 1 && v[start + 1] != '.')) return false;
  int dots = 0;
  for (std::size_t i = start; i < v.size(); ++i) {
    if (v[i] == '.') {
      if (++dots > 1) return false;
    } else if (v[i] < '0' || v[i] > '9') {
      return false;
    }
  }
  return true;
}

// %v with line breaks and other control characters escaped: one record is
// always one line, whatever a message carries (a libpq error, a client's path).
class OneLinePayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto [fields, text] = split_payload(std::string_view(msg.payload.data(), msg.payload.size()));
    append_one_line(text, dest);
    for_each_field(fields, [&dest](std::string_view key, std::string_view value) {
      dest.push_back(' ');
      dest.append(key.data(), key.data() + key.size());
      dest.push_back('=');
      append_one_line(value, dest);
    });
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<OneLinePayload>(); }

 private:
  static void append_one_line(std::string_view text, spdlog::memory_buf_t& dest) {
    std::string line;
    core::append_escaped(line, text, core::Escape::line);
    dest.append(line.data(), line.data() + line.size());
  }
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    line += R"({"time":")";
    core::append_rfc3339(line, msg.time);
    line += R"(","level":")";
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += R"(","logger":")";
    core::append_json_escaped(line, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    auto [fields, text] = split_payload(std::string_view(msg.payload.data(), msg.payload.size()));
    line += R"(","message":")";
    core::append_json_escaped(line, text);
    line += '"';
    for_each_field(fields, [&line](std::string_view key, std::string_view value) {
      line += ",\"";
      core::append_json_escaped(line, key);
      line += "\":";
      if (is_plain_number(value)) {
        line.append(value);
      } else {
        line += '"';
        core::append_json_escaped(line, value);
        line += '"';
      }
    });
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

void log_fields(spdlog::logger& log, spdlog::level::level_enum level, std::initializer_list<LogField> fields,
                std::string_view message) {
  if (!log.should_log(level)) return;
  std::string payload;
  payload.reserve(message.size() + 96);
  payload.push_back(kFieldsMark);
  for (const auto& f : fields) {
    if (f.value.empty()) continue;
    payload.append(f.key).push_back(kFieldSep);
    // A separator inside a value would shift every later field.
    for (char c : f.value) payload.push_back(c == kFieldSep || c == kFieldsMark ? '?' : c);
    payload.push_back(kFieldSep);
  }
  payload.push_back(kFieldsMark);
  payload.append(message);
  log.log(level, spdlog::string_view_t(payload.data(), payload.size()));
}

std::string_view to_string(LogFormat format) {
  switch (format) {
    case LogFormat::text: return "text";
    case LogFormat::json: return "json";
  }
  return "unknown";
}

const config::Section<LogSettings>& log_section() {
  static const auto section = [] {
    const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
    const std::vector<std::string> formats{"text", "json"};
    const auto joined = [](const std::vector<std::string>& names) {
      std::string text;
      for (const auto& name : names) text += (text.empty() ? "" : "|") + name;
      return text;
    };
    const LogSettings defaults;
    config::Section<LogSettings> s;
    s.add({"LOG_LEVEL", defaults.level, joined(levels)},
          [levels](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, LogSettings& out) {
            out.level = r.one_of(v, out.level, levels);
          });
    s.add({"LOG_FORMAT", std::string(to_string(defaults.format)), joined(formats)},
          [formats](config::EnvReader& r, const config::Variable& v, const config::ReadContext&, LogSettings& out) {
            out.format = r.one_of(v, std::string(to_string(out.format)), formats) == "json" ? LogFormat::json
                                                                                           : LogFormat::text;
          });
    return s;
  }();
  return section;
}

std::shared_ptr<spdlog::logger> make_logger(std::string name, std::string_view level, LogFormat format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off")
    throw std::invalid_argument("unknown log level: " + std::string(level));
  // stdout_sink_mt: one mutex per write, shared by all threads; flushed on
  // every line at warn and above so a crash loses as little as possible.
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
  if (format == LogFormat::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto text = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    text->add_flag<OneLinePayload>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-5l %*");
    logger->set_formatter(std::move(text));
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace svc::telemetry

#include "lib/telemetry/logging.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace svc::telemetry {

namespace {

// %v with line breaks and other control characters escaped: one record is
// always one line, whatever a message carries (a libpq error, a client's path).
class OneLinePayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    for (char ch : text) {
      auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c != 0x7f) {
        dest.push_back(ch);
        continue;
      }
      char buf[8];
      int n = c == '\n' ? std::snprintf(buf, sizeof buf, "\\n") : std::snprintf(buf, sizeof buf, "\\x%02x", c);
      dest.append(buf, buf + n);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<OneLinePayload>(); }
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - secs).count();
    std::time_t t = secs.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[40];
    std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%06lldZ", static_cast<long long>(micros));

    line += R"({"time":")";
    line += stamp;
    line += R"(","level":")";
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += R"(","logger":")";
    append_json_escaped(line, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    line += R"(","message":")";
    append_json_escaped(line, std::string_view(msg.payload.data(), msg.payload.size()));
    line += "\"}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
}

std::shared_ptr<spdlog::logger> make_logger(std::string name, std::string_view level, config::LogFormat format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off")
    throw std::invalid_argument("unknown log level: " + std::string(level));
  // stdout_sink_mt: one mutex per write, shared by all threads; flushed on
  // every line at warn and above so a crash loses as little as possible.
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
  if (format == config::LogFormat::json) {
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

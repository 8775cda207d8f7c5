#include "lib/telemetry/logging.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

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
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    line += R"({"time":")";
    append_utc_timestamp(line, msg.time);
    line += R"(","level":")";
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += R"(","logger":")";
    append_json_escaped(line, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    auto [fields, text] = split_payload(std::string_view(msg.payload.data(), msg.payload.size()));
    line += R"(","message":")";
    append_json_escaped(line, text);
    line += '"';
    for_each_field(fields, [&line](std::string_view key, std::string_view value) {
      line += ",\"";
      append_json_escaped(line, key);
      line += "\":";
      if (is_plain_number(value)) {
        line.append(value);
      } else {
        line += '"';
        append_json_escaped(line, value);
        line += '"';
      }
    });
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point time) {
  auto since_epoch = time.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - secs).count();
  std::time_t t = secs.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[48];
  std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  n += static_cast<std::size_t>(std::snprintf(stamp + n, sizeof stamp - n, ".%06lldZ", static_cast<long long>(micros)));
  out.append(stamp, n);
}

void append_json_escaped(std::string& out, std::string_view text) {
  // Runs of characters that need no escape are appended whole; the test is
  // one table lookup per character (this runs over every answer's strings).
  static constexpr auto needs_escape = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    t['"'] = t['\\'] = true;
    return t;
  }();
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!needs_escape[c]) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        const char escaped[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        out.append(escaped, sizeof escaped);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
}

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

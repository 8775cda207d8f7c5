#pragma once
// Log lines about one request, carrying its request_id and trace_id as
// structured fields (see logging.hpp). Context is passed explicitly:
//
//   auto log = svc::telemetry::log_for(*app.log, ctx);
//   log.warn("upstream {} answered {}", exchange, status);

#include <string_view>
#include <utility>

#include <spdlog/fmt/fmt.h>
#include <spdlog/logger.h>

#include "lib/http/router.hpp"
#include "lib/telemetry/logging.hpp"

namespace svc::telemetry {

class RequestLog {
 public:
  RequestLog(spdlog::logger& log, std::string_view request_id, std::string_view trace_id)
      : log_(log), request_id_(request_id), trace_id_(trace_id) {}

  template <class... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) const {
    if (!log_.should_log(level)) return;
    auto message = fmt::format(format, std::forward<Args>(args)...);
    log_fields(log_, level, {{"request_id", request_id_}, {"trace_id", trace_id_}}, message);
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    log(spdlog::level::debug, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    log(spdlog::level::info, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    log(spdlog::level::warn, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    log(spdlog::level::err, format, std::forward<Args>(args)...);
  }

 private:
  spdlog::logger& log_;
  std::string_view request_id_;
  std::string_view trace_id_;
};

inline RequestLog log_for(spdlog::logger& log, const http::RequestContext& ctx) {
  return RequestLog(log, ctx.request_id, ctx.trace_id);
}

}  // namespace svc::telemetry

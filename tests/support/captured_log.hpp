#pragma once
// A spdlog logger that writes into a string, for tests that assert on what
// was logged (pattern "%l %v": the level, then the message).

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

namespace test_support {

struct CapturedLog {
  CapturedLog() { logger.set_pattern("%l %v"); }
  std::string text() const { return out.str(); }

  std::ostringstream out;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  spdlog::logger logger{"test", sink};
};

}  // namespace test_support

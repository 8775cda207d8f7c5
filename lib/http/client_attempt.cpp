#include "lib/http/client_attempt.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace svc::http::detail {

namespace {
// Most of a non-2xx body that goes into the error message.
constexpr std::size_t kExcerptBytes = 200;
}  // namespace

void throw_cancelled() {
  throw boost::system::system_error(boost::asio::error::operation_aborted, "HTTP client call cancelled");
}

AttemptError Budget::expired() const {
  std::string message("timeout: ");
  if (total) {
    message.append("total ").append(std::to_string(length.count())).append(" ms exceeded during ").append(step);
  } else {
    message.append(step).append(" after ").append(std::to_string(length.count())).append(" ms");
  }
  // A step's own timeout leaves the total room for another attempt.
  return AttemptError(ClientPhase::timeout, std::move(message), !total);
}

Budget CallPlan::budget(const char* step, milliseconds timeout) const {
  const auto now = Clock::now();
  if (timeout.count() > 0 && now + timeout < deadline) return {now + timeout, step, timeout, false};
  return {deadline, step, total, true};
}

bool retryable_status(unsigned status) noexcept { return status == 502 || status == 503 || status == 504; }

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out.append(host);
  if (v6) out += ']';
  out.append(":").append(std::to_string(port));
  return out;
}

std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (out.size() >= kExcerptBytes) break;
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      continue;
    }
    out.push_back(c);
  }
  if (out.size() >= kExcerptBytes && body.size() > out.size()) {
    // Do not end inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out.append("...");
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace svc::http::detail

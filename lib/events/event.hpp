#pragma once
// One event for the event table: what the HTTP server records per request
// (kind "http"), and whatever the application records (its own kinds, with
// a name, a target, an outcome and up to two counts). The table is the
// application's (its migration); EventSchema tells the writer its name and
// the columns of the two counts.

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace svc::events {

// Text that lives inside the event (no allocation), truncated to N bytes.
template <std::size_t N>
class InlineText {
 public:
  InlineText() = default;
  InlineText(std::string_view s) noexcept { assign(s); }  // NOLINT: implicit on purpose
  InlineText& operator=(std::string_view s) noexcept {
    assign(s);
    return *this;
  }
  void assign(std::string_view s) noexcept {
    size_ = static_cast<std::uint8_t>(s.size() < N ? s.size() : N);
    if (size_ > 0) std::memcpy(data_.data(), s.data(), size_);
  }
  std::string_view view() const noexcept { return {data_.data(), size_}; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  static_assert(N < 256);
  std::array<char, N> data_{};
  std::uint8_t size_ = 0;
};

struct Event {
  InlineText<16> kind;                          // "http", or one of the application's kinds
  std::chrono::system_clock::time_point time;  // when it started
  InlineText<64> request_id;                   // X-Request-ID of the request it belongs to, if any
  InlineText<32> trace_id;                     // W3C trace id, if any
  double duration_seconds = 0;
  // A request: method, route template (never the raw path), status, body
  // sizes. Written only when `method` is set; NULL otherwise.
  InlineText<16> method;
  // A view, not a copy: it must outlive the writer's stop(). The server
  // passes the router's pattern (the router outlives every component) or a
  // literal.
  std::string_view route;
  int status = 0;
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  // The application's labels; empty is NULL.
  std::string name;
  std::string target;
  std::string outcome;
  // The application's numbers, in the columns EventSchema::count_columns names.
  std::array<std::optional<std::int64_t>, 2> counts;
};

// The table the writer copies into. It must have the columns
//   kind text, at timestamptz, request_id text, trace_id text,
//   duration_seconds double precision, method text, route text,
//   status integer, request_bytes bigint, response_bytes bigint,
//   name text, target text, outcome text
// and the two bigint columns named here.
struct EventSchema {
  std::string table;
  std::array<std::string, 2> count_columns;
};

}  // namespace svc::events

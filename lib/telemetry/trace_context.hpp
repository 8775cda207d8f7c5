#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent
// header, "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>".
//
// The server accepts a valid traceparent from the client (keeping its trace
// id and sampled flag), or starts a new trace; either way it gives the request
// a span id of its own, and the traceparent to send upstream names that span
// as the parent. Parsing follows the spec's rules: lower-case hex only,
// all-zero ids invalid, version ff invalid, and a future version (01-fe) is
// parsed by its first 55 characters when what follows starts with '-'.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "lib/core/random.hpp"

namespace svc::telemetry {

struct TraceContext {
  std::array<char, 32> trace_id{};  // lower-case hex
  std::array<char, 16> span_id{};   // this service's span (the parent of upstream calls)
  std::uint8_t flags = 0;           // bit 0: sampled

  std::string_view trace_id_view() const { return {trace_id.data(), trace_id.size()}; }
  std::string_view span_id_view() const { return {span_id.data(), span_id.size()}; }

  // "00-<trace-id>-<span-id>-<flags>" for an outgoing request.
  using Header = std::array<char, 55>;
  std::string_view traceparent(Header& out) const noexcept;
};

struct ParsedTraceparent {
  std::array<char, 32> trace_id{};
  std::array<char, 16> parent_id{};
  std::uint8_t flags = 0;
};

// nullopt for anything the spec says to ignore (then a new trace starts).
std::optional<ParsedTraceparent> parse_traceparent(std::string_view header) noexcept;

// Fills 16 (trace) or 8 (span) random bytes as hex from a caller's generator
// (one per connection, so no locking). Never all zeros.
class TraceIdGenerator {
 public:
  explicit TraceIdGenerator(std::uint64_t seed) noexcept : rng_(seed) {}
  // The request's context: the parent's trace id and flags if `incoming` is
  // valid, else a new trace (sampled); always a new span id.
  TraceContext next(std::string_view incoming) noexcept;

 private:
  // `hex_chars`: a multiple of 16 (whole random words).
  void fill(char* out, std::size_t hex_chars) noexcept;
  core::SplitMix64 rng_;
};

}  // namespace svc::telemetry

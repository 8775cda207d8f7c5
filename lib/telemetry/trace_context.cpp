#include "lib/telemetry/trace_context.hpp"

#include <algorithm>
#include <cstring>

#include "lib/core/hex.hpp"

namespace svc::telemetry {

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid per the spec
}

bool is_lower_hex(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

bool all_zero(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}
}  // namespace

std::optional<ParsedTraceparent> parse_traceparent(std::string_view h) noexcept {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55.
  if (h.size() < 55) return std::nullopt;
  std::string_view version = h.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" && h.size() != 55) return std::nullopt;
  // A later version may append fields, always after a '-'.
  if (version != "00" && h.size() > 55 && h[55] != '-') return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view trace = h.substr(3, 32), parent = h.substr(36, 16), flags = h.substr(53, 2);
  if (!is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags)) return std::nullopt;
  if (all_zero(trace) || all_zero(parent)) return std::nullopt;
  ParsedTraceparent p;
  std::memcpy(p.trace_id.data(), trace.data(), 32);
  std::memcpy(p.parent_id.data(), parent.data(), 16);
  p.flags = static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
  return p;
}

std::string_view TraceContext::traceparent(Header& out) const noexcept {
  char* p = out.data();
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  p = std::copy(trace_id.begin(), trace_id.end(), p);
  *p++ = '-';
  p = std::copy(span_id.begin(), span_id.end(), p);
  *p++ = '-';
  // Only the sampled bit is defined for version 00.
  *p++ = '0';
  *p++ = (flags & 1) != 0 ? '1' : '0';
  return {out.data(), out.size()};
}

void TraceIdGenerator::fill(char* out, std::size_t hex_chars) noexcept {
  for (;;) {
    bool zero = true;
    for (std::size_t i = 0; i < hex_chars; i += core::kHex16Size) {
      const std::uint64_t w = rng_.next();
      zero = zero && w == 0;
      core::write_hex16(out + i, w);
    }
    if (!zero) return;  // astronomically rare, but all zeros is invalid
  }
}

TraceContext TraceIdGenerator::next(std::string_view incoming) noexcept {
  TraceContext ctx;
  static_assert(sizeof ctx.trace_id % core::kHex16Size == 0 && sizeof ctx.span_id % core::kHex16Size == 0,
                "fill() writes whole words");
  if (auto parsed = incoming.empty() ? std::nullopt : parse_traceparent(incoming)) {
    ctx.trace_id = parsed->trace_id;
    ctx.flags = parsed->flags;
  } else {
    fill(ctx.trace_id.data(), ctx.trace_id.size());
    ctx.flags = 1;
  }
  fill(ctx.span_id.data(), ctx.span_id.size());
  return ctx;
}

}  // namespace svc::telemetry

#include <doctest/doctest.h>

#include <cinttypes>
#include <cstdio>
#include <string>

#include "lib/core/hex.hpp"
#include "lib/core/random.hpp"
#include "lib/http/request_id.hpp"
#include "lib/telemetry/trace_context.hpp"

using namespace svc;

namespace {
std::string printf_hex(std::uint64_t w) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, w);
  return buf;
}
std::string hex16(std::uint64_t w) {
  std::string out(core::kHex16Size, '?');
  core::write_hex16(out.data(), w);
  return out;
}
}  // namespace

TEST_CASE("write_hex16 writes what printf's %016x writes") {
  for (std::uint64_t w : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xff}, std::uint64_t{0x0123456789abcdef},
                          std::uint64_t{0xfedcba9876543210}, ~std::uint64_t{0}}) {
    CAPTURE(w);
    CHECK(hex16(w) == printf_hex(w));
  }
  core::SplitMix64 rng(99);
  for (int i = 0; i < 10000; ++i) {
    const auto w = rng.next();
    REQUIRE(hex16(w) == printf_hex(w));
  }
  // Every byte value in every position.
  for (std::uint64_t b = 0; b < 256; ++b)
    for (int shift = 0; shift < 64; shift += 8) REQUIRE(hex16(b << shift) == printf_hex(b << shift));
}

TEST_CASE("a request id is its generator's two words, cut 8-4-4-4-12 with the v4 bits set") {
  core::SplitMix64 words(4242);
  http::RequestIdGenerator gen(4242);
  for (int i = 0; i < 100; ++i) {
    const auto hi = (words.next() & 0xffffffffffff0fffULL) | 0x4000ULL;
    const auto lo = (words.next() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    const auto digits = printf_hex(hi) + printf_hex(lo);
    const auto expected = digits.substr(0, 8) + "-" + digits.substr(8, 4) + "-" + digits.substr(12, 4) + "-" +
                          digits.substr(16, 4) + "-" + digits.substr(20);
    REQUIRE(gen.next() == expected);
  }
}

TEST_CASE("a new trace id and span id are the generator's next three words") {
  core::SplitMix64 words(77);
  telemetry::TraceIdGenerator gen(77);
  const auto ctx = gen.next("");
  const auto high = words.next();  // one statement each: operands of + are unsequenced
  const auto low = words.next();
  const auto trace = printf_hex(high) + printf_hex(low);
  const auto span = printf_hex(words.next());
  CHECK(std::string(ctx.trace_id_view()) == trace);
  CHECK(std::string(ctx.span_id_view()) == span);
}

#pragma once
// COPY ... FROM STDIN (FORMAT binary): the data PostgreSQL parses least. Each
// field goes in its column type's binary form, so the server does no text
// parsing of numbers and timestamps (in text format, about half of its CPU per
// row). Build the data with these, send it with Connection::copy_in:
//
//   std::string data;
//   pg::begin_copy_binary(data);
//   pg::begin_copy_row(data, 2);
//   pg::append_copy_int8(data, 42);      // a bigint column: exactly int8
//   pg::append_copy_text(data, "a\tb");  // text: the UTF-8 bytes, no escaping
//   pg::end_copy_binary(data);
//
// The sender must match each column's type exactly (int4 for integer, int8
// for bigint, ...): the server rejects a mismatch ("incorrect binary data
// format"), and with it the whole COPY.

#include <bit>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace svc::pg {

namespace detail {
// Network byte order, most significant byte first (compiles to one bswap).
template <class U>
void append_big_endian(std::string& out, U value) {
  char bytes[sizeof value];
  for (std::size_t i = 0; i < sizeof value; ++i)
    bytes[i] = static_cast<char>(value >> (8 * (sizeof value - 1 - i)));
  out.append(bytes, sizeof value);
}
}  // namespace detail

// The signature, no flags, no header extension.
inline void begin_copy_binary(std::string& out) {
  out.append("PGCOPY\n\377\r\n\0", 11);
  detail::append_big_endian(out, std::uint32_t{0});
  detail::append_big_endian(out, std::uint32_t{0});
}
// The end-of-data marker: a field count of -1.
inline void end_copy_binary(std::string& out) { detail::append_big_endian(out, std::uint16_t{0xffff}); }

inline void begin_copy_row(std::string& out, std::uint16_t fields) { detail::append_big_endian(out, fields); }

// Each field: its length (-1 for NULL), then its bytes.
inline void append_copy_null(std::string& out) { detail::append_big_endian(out, std::uint32_t{0xffffffff}); }
inline void append_copy_int4(std::string& out, std::int32_t value) {
  detail::append_big_endian(out, std::uint32_t{4});
  detail::append_big_endian(out, static_cast<std::uint32_t>(value));
}
inline void append_copy_int8(std::string& out, std::int64_t value) {
  detail::append_big_endian(out, std::uint32_t{8});
  detail::append_big_endian(out, static_cast<std::uint64_t>(value));
}
inline void append_copy_float8(std::string& out, double value) {
  detail::append_big_endian(out, std::uint32_t{8});
  detail::append_big_endian(out, std::bit_cast<std::uint64_t>(value));
}
// text / varchar: the bytes as they are (UTF-8, the connection's encoding;
// the server checks it). At most 1 GB, as any PostgreSQL field.
inline void append_copy_text(std::string& out, std::string_view value) {
  detail::append_big_endian(out, static_cast<std::uint32_t>(value.size()));
  out.append(value);
}
// timestamptz: microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's
// epoch); finer precision is truncated toward the past.
inline void append_copy_timestamptz(std::string& out, std::chrono::system_clock::time_point t) {
  constexpr std::chrono::sys_days kPgEpoch{std::chrono::year{2000} / 1 / 1};
  const auto micros = std::chrono::floor<std::chrono::microseconds>(t - kPgEpoch);
  append_copy_int8(out, micros.count());
}

}  // namespace svc::pg

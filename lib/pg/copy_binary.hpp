#pragma once
// COPY ... FROM STDIN (FORMAT binary): the data PostgreSQL parses least. Each
// field goes in its column type's binary form, so the server does no text
// parsing of numbers and timestamps (in text format, about half of its CPU per
// row). Build the data with these, send it with Connection::copy_in:
//
//   std::string data;
//   pg::begin_copy_binary(data);
//   {
//     pg::CopyRow row(data, 2, text_bytes);  // fields, bytes of text in them
//     row.int8(42);                          // a bigint column: exactly int8
//     row.text("a\tb");                      // text: the UTF-8 bytes, no escaping
//   }
//   pg::end_copy_binary(data);
//
// The sender must match each column's type exactly (int4 for integer, int8
// for bigint, ...): the server rejects a mismatch ("incorrect binary data
// format"), and with it the whole COPY.

#include <bit>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace svc::pg {

// The signature, no flags, no header extension.
void begin_copy_binary(std::string& out);
// The end-of-data marker: a field count of -1.
void end_copy_binary(std::string& out);

// One row, written in place: the constructor makes room for the largest row
// of `fields` fields holding `text_bytes` bytes of text in all, the
// destructor gives back what was not used. Per field: its length (-1 for
// NULL), then its bytes in network byte order. Writing more fields or text
// than announced is a bug (checked in debug builds).
class CopyRow {
 public:
  CopyRow(std::string& out, std::uint16_t fields, std::size_t text_bytes);
  ~CopyRow() { out_.resize(static_cast<std::size_t>(at_ - out_.data())); }
  CopyRow(const CopyRow&) = delete;
  CopyRow& operator=(const CopyRow&) = delete;

  void null() { put(std::uint32_t{0xffffffff}); }
  void int4(std::int32_t value) {
    put(std::uint32_t{4});
    put(static_cast<std::uint32_t>(value));
  }
  void int8(std::int64_t value) {
    put(std::uint32_t{8});
    put(static_cast<std::uint64_t>(value));
  }
  void float8(double value) {
    put(std::uint32_t{8});
    put(std::bit_cast<std::uint64_t>(value));
  }
  // text / varchar: the bytes as they are (UTF-8, the connection's encoding;
  // the server checks it).
  void text(std::string_view value) {
    put(static_cast<std::uint32_t>(value.size()));
    assert(value.size() <= static_cast<std::size_t>(end_ - at_));
    std::memcpy(at_, value.data(), value.size());
    at_ += value.size();
  }
  // timestamptz: microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's
  // epoch); finer precision is truncated toward the past.
  void timestamptz(std::chrono::system_clock::time_point t) {
    constexpr std::chrono::sys_days kPgEpoch{std::chrono::year{2000} / 1 / 1};
    int8(std::chrono::floor<std::chrono::microseconds>(t - kPgEpoch).count());
  }

 private:
  // Network byte order, most significant byte first (compiles to one bswap).
  template <class U>
  void put(U value) {
    assert(sizeof value <= static_cast<std::size_t>(end_ - at_));
    for (std::size_t i = 0; i < sizeof value; ++i)
      at_[i] = static_cast<char>(value >> (8 * (sizeof value - 1 - i)));
    at_ += sizeof value;
  }

  std::string& out_;
  char* at_;
  char* end_;
};

}  // namespace svc::pg

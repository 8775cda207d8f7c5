#include <doctest/doctest.h>

#include <string>
#include <unordered_map>

#include "lib/pg/connection.hpp"

using svc::pg::SqlHash;

namespace {
// A statement of `length` bytes whose text depends on `variant` in byte 9
// only: from 64 bytes on, a byte the sampled hash does not read (39 and 40:
// either side of where sampling starts).
std::string statement(std::size_t length, char variant) {
  std::string sql = "SELECT 1 FROM t WHERE a = $1";
  sql.resize(length, ' ');
  sql[9] = variant;
  return sql;
}
}  // namespace

TEST_CASE("SqlHash: equal texts hash equal, whatever holds them") {
  std::string text;
  for (std::size_t n = 0; n < 200; ++n) {
    text.push_back(static_cast<char>('a' + n % 26));
    const std::string copy = text;
    CAPTURE(n);
    CHECK(SqlHash{}(text) == SqlHash{}(std::string_view(copy)));
  }
}

TEST_CASE("SqlHash: the sampled bytes and the length change the hash") {
  const std::string base(400, 'x');
  const auto h = SqlHash{}(base);
  CHECK(SqlHash{}(base.substr(0, 399)) != h);
  for (std::size_t at : {std::size_t{0}, std::size_t{98}, std::size_t{196}, std::size_t{294}, std::size_t{399}}) {
    std::string other = base;
    other[at] = 'y';
    CAPTURE(at);
    CHECK(SqlHash{}(other) != h);
  }
}

TEST_CASE("SqlHash: texts that differ only where it does not sample are still told apart by the map") {
  for (std::size_t length : {std::size_t{39}, std::size_t{40}, std::size_t{64}, std::size_t{400}}) {
    CAPTURE(length);
    std::unordered_map<std::string, int, SqlHash, std::equal_to<>> map;
    for (int i = 0; i < 64; ++i) map.emplace(statement(length, static_cast<char>('0' + i)), i);
    REQUIRE(map.size() == 64);
    for (int i = 0; i < 64; ++i) {
      const auto sql = statement(length, static_cast<char>('0' + i));
      auto it = map.find(std::string_view(sql));
      REQUIRE(it != map.end());
      CHECK(it->second == i);
    }
    CHECK(map.find(std::string_view(statement(length, '~'))) == map.end());
  }
}

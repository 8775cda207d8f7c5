#include "lib/pg/lease.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "lib/core/random.hpp"
#include "lib/pg/pool.hpp"

namespace svc::pg {

namespace asio = boost::asio;

namespace {

bool plain_identifier(std::string_view name) {
  return !name.empty() && name.size() <= 63 && !(name.front() >= '0' && name.front() <= '9') &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Milliseconds until `expires_at` on the server's clock, never negative.
constexpr std::string_view kRemaining = "greatest(0, extract(epoch FROM expires_at - now()) * 1000)::bigint";

std::string replace_table(std::string sql, const std::string& table) {
  for (auto at = sql.find("{t}"); at != std::string::npos; at = sql.find("{t}", at + table.size()))
    sql.replace(at, 3, table);
  return sql;
}

}  // namespace

std::string lease_holder_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "unknown-host");
  static constexpr char digits[] = "0123456789abcdef";
  auto bits = core::SplitMix64::from_entropy().next();
  std::string id(host);
  id.append(":").append(std::to_string(::getpid())).append(":");
  for (int i = 0; i < 6; ++i, bits >>= 4) id.push_back(digits[bits & 0xf]);
  return id;
}

LeaseTable::LeaseTable(Pool& pool, std::string table, std::string holder)
    : pool_(pool), table_(std::move(table)), holder_(std::move(holder)) {
  if (!plain_identifier(table_)) throw std::invalid_argument("lease table name is not a plain identifier: " + table_);
  // One statement: take it (free, expired or ours), else read who has it.
  // The fallback SELECT sees the table as it was when the statement
  // started; a row another process inserted meanwhile shows as nobody,
  // which the caller treats like a lease it did not get.
  acquire_sql_ = replace_table(
      "WITH taken AS ("
      " INSERT INTO {t} AS l (name, holder, acquired_at, renewed_at, expires_at)"
      " VALUES ($1, $2, now(), now(), now() + $3::bigint * interval '1 millisecond')"
      " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,"
      "  acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.acquired_at ELSE now() END,"
      "  renewed_at = now(), expires_at = EXCLUDED.expires_at"
      " WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()"
      " RETURNING holder, expires_at)"
      " SELECT true, holder, " + std::string(kRemaining) + " FROM taken"
      " UNION ALL"
      " SELECT false, holder, " + std::string(kRemaining) + " FROM {t}"
      " WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM taken)",
      table_);
  release_sql_ = replace_table(
      "UPDATE {t} SET expires_at = LEAST(expires_at, now() + $3::bigint * interval '1 millisecond')"
      " WHERE name = ANY($1::text[]) AND holder = $2 AND expires_at > now()",
      table_);
  guard_sql_ = replace_table("SELECT 1 FROM {t} WHERE name = $1 AND holder = $2 AND expires_at > now() FOR SHARE", table_);
  list_sql_ = replace_table("SELECT name, holder, acquired_at, renewed_at, " + std::string(kRemaining) +
                                " FROM {t} WHERE starts_with(name, $1) ORDER BY name",
                            table_);
}

void LeaseTable::note(std::string_view name, bool held, std::string_view holder, bool released) {
  std::lock_guard lock(mutex_);
  auto it = known_.find(name);
  if (it == known_.end()) it = known_.emplace(std::string(name), LeaseKnowledge{}).first;
  LeaseKnowledge& k = it->second;
  if (held && !k.held) ++k.acquired_total;
  if (!held && k.held && !released) ++k.lost_total;
  k.held = held;
  k.holder = holder;
}

asio::awaitable<LeaseState> LeaseTable::acquire(std::string_view name, std::chrono::milliseconds ttl) {
  const auto r = co_await pool_.query(acquire_sql_, Params(name, holder_, static_cast<std::int64_t>(ttl.count())));
  LeaseState state;
  if (r.rows() > 0) {
    state.held = r.boolean(0, 0);
    state.holder = std::string(r.text(0, 1));
    state.remaining = std::chrono::milliseconds{r.int64(0, 2)};
  }
  note(name, state.held, state.holder, false);
  co_return state;
}

asio::awaitable<std::size_t> LeaseTable::release(const std::vector<std::string>& names,
                                                 std::chrono::milliseconds deadline,
                                                 std::chrono::milliseconds hand_over_in) {
  if (names.empty()) co_return 0;
  const std::int64_t in_ms = std::max<std::int64_t>(0, hand_over_in.count());
  const auto r = co_await pool_.query(release_sql_, Params(names, holder_, in_ms), {.deadline = deadline});
  for (const auto& name : names) note(name, false, holder_, true);
  co_return static_cast<std::size_t>(r.affected());
}

Statement LeaseTable::guard(std::string_view name) const { return {guard_sql_, Params(name, holder_)}; }

asio::awaitable<std::vector<LeaseRow>> LeaseTable::list(std::string_view prefix) {
  const auto r = co_await pool_.query(list_sql_, Params(prefix), {.read_only = true});
  std::vector<LeaseRow> rows;
  rows.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i)
    rows.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)), r.timestamp(i, 2), r.timestamp(i, 3),
                    std::chrono::milliseconds{r.int64(i, 4)}});
  co_return rows;
}

std::map<std::string, LeaseKnowledge> LeaseTable::known() const {
  std::lock_guard lock(mutex_);
  return {known_.begin(), known_.end()};
}

void LeaseTable::forget(std::string_view name) { note(name, false, "", false); }

}  // namespace svc::pg

#pragma once
// RAII transaction: leaving scope without commit() rolls back (the connection
// rolls back before its next use, and the pool before handing it to anyone
// else). After a failed statement the transaction is poisoned, as in
// PostgreSQL: every further query fails until rollback.

#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "lib/pg/connection.hpp"

namespace svc::pg {

class Transaction {
 public:
  // Sends BEGIN (or `begin_sql`, e.g. "BEGIN ISOLATION LEVEL SERIALIZABLE").
  static boost::asio::awaitable<Transaction> begin(Connection& conn, std::string_view begin_sql = "BEGIN");
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  boost::asio::awaitable<Result> query(std::string_view sql, const Params& params = {});
  boost::asio::awaitable<std::vector<Result>> pipeline(const std::vector<Statement>& statements);
  boost::asio::awaitable<void> commit();
  boost::asio::awaitable<void> rollback();
  bool poisoned() const noexcept { return poisoned_; }

 private:
  explicit Transaction(Connection& conn) noexcept : conn_(&conn) {}
  void check_usable() const;
  template <typename T>
  boost::asio::awaitable<T> guarded(boost::asio::awaitable<T> op);
  Connection* conn_;
  bool open_ = true;
  bool poisoned_ = false;
};

}  // namespace svc::pg

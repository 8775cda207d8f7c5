#include "lib/pg/transaction.hpp"

#include "lib/pg/error.hpp"

namespace svc::pg {

namespace asio = boost::asio;

asio::awaitable<Transaction> Transaction::begin(Connection& conn, std::string_view begin_sql) {
  co_await conn.execute(begin_sql);
  co_return Transaction(conn);
}

Transaction::Transaction(Transaction&& other) noexcept
    : conn_(other.conn_), open_(other.open_), poisoned_(other.poisoned_) {
  other.open_ = false;
}

Transaction::~Transaction() {
  // A destructor cannot await: the connection rolls back before its next
  // statement, and the pool before anyone else gets it.
  if (open_) conn_->mark_needs_rollback();
}

asio::awaitable<Result> Transaction::query(std::string_view sql, const Params& params) {
  if (!open_) throw PgError(errc::protocol, "transaction already finished");
  if (poisoned_)
    throw PgError(errc::query_failed, "current transaction is aborted, commands ignored until end of transaction block",
                  "25P02");
  std::optional<PgError> failure;
  Result r;
  try {
    r = co_await conn_->query(sql, params);
  } catch (const PgError& e) {
    failure = e;
  }
  if (failure) {
    poisoned_ = true;
    throw *failure;
  }
  co_return r;
}

asio::awaitable<std::vector<Result>> Transaction::pipeline(const std::vector<Statement>& statements) {
  if (!open_) throw PgError(errc::protocol, "transaction already finished");
  if (poisoned_)
    throw PgError(errc::query_failed, "current transaction is aborted, commands ignored until end of transaction block",
                  "25P02");
  std::optional<PgError> failure;
  std::vector<Result> r;
  try {
    r = co_await conn_->pipeline(statements);
  } catch (const PgError& e) {
    failure = e;
  }
  if (failure) {
    poisoned_ = true;
    throw *failure;
  }
  co_return r;
}

asio::awaitable<void> Transaction::commit() {
  if (!open_) throw PgError(errc::protocol, "transaction already finished");
  if (poisoned_) {
    co_await rollback();
    throw PgError(errc::query_failed, "transaction was rolled back after a failed statement", "25P02");
  }
  open_ = false;
  // On failure (e.g. a deferred constraint) the server has rolled back already.
  co_await conn_->execute("COMMIT");
}

asio::awaitable<void> Transaction::rollback() {
  if (!open_) co_return;
  open_ = false;
  co_await conn_->execute("ROLLBACK");
}

}  // namespace svc::pg

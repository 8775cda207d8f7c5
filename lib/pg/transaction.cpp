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

void Transaction::check_usable() const {
  if (!open_) throw PgError(errc::protocol, "transaction already finished");
  if (poisoned_)
    throw PgError(errc::query_failed, "current transaction is aborted, commands ignored until end of transaction block",
                  "25P02");
}

// Runs one statement (or pipeline) of the transaction; a failure poisons it.
template <typename T>
asio::awaitable<T> Transaction::guarded(asio::awaitable<T> op) {
  check_usable();
  std::optional<PgError> failure;
  T result{};
  try {
    result = co_await std::move(op);
  } catch (const PgError& e) {
    failure = e;
  }
  if (failure) {
    poisoned_ = true;
    throw *failure;
  }
  co_return result;
}

asio::awaitable<Result> Transaction::query(std::string_view sql, const Params& params) {
  return guarded(conn_->query(sql, params));
}

asio::awaitable<std::vector<Result>> Transaction::pipeline(const std::vector<Statement>& statements) {
  return guarded(conn_->pipeline(statements));
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

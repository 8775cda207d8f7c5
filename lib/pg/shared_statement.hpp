#pragma once
// One caller's statement on the shared (pipelined) path, from submission to
// its answer. Everything here lives on one event loop: the caller's, which
// owns the StatementLane and its PipelinedConnections, so nothing is locked.

#include <chrono>
#include <exception>
#include <optional>
#include <string_view>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include "lib/pg/error.hpp"
#include "lib/pg/params.hpp"
#include "lib/pg/result.hpp"

namespace svc::pg {

struct SharedStatement {
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr, Result)>;
  enum class Where { nowhere, waiting, connection };

  // The caller's input, valid while the caller waits; it may be sent more
  // than once (again, alone, after its shared unit was aborted; elsewhere,
  // after its connection died before writing it), never once answered.
  std::string_view sql;
  const Params* params = nullptr;
  std::chrono::steady_clock::time_point deadline;
  // May share a Sync with other read-only statements; never true for a write.
  bool read_only = false;
  // Has a Sync of its own: not read-only, or sent again alone after another
  // statement's failure aborted its shared unit.
  bool isolated = false;

  // Collected from the server.
  Result result;
  std::optional<PgError> error;
  bool aborted = false;  // skipped (PGRES_PIPELINE_ABORTED): it never ran

  // Answered: the caller has its outcome, or has left. Its results, if any
  // still come, are read and dropped.
  bool answered = false;
  Where where = Where::nowhere;
  // Optional because Boost 1.81's any_completion_handler move assignment
  // recurses forever (it copies its argument as an lvalue): only ever
  // emplaced (move construction) and reset.
  std::optional<Handler> handler;
  boost::asio::cancellation_slot slot;

  void reset() noexcept {
    sql = {};
    params = nullptr;
    read_only = isolated = aborted = answered = false;
    result = Result();
    error.reset();
    where = Where::nowhere;
    slot = {};
  }
};

}  // namespace svc::pg

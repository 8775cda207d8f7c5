#pragma once
// The keep-alive connections of the HTTP client, one core::SlotPool per
// origin (scheme, host, port, proxy): at most max_per_origin open, FIFO
// waiters up to max_waiters, the most recently used idle connection first.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "lib/core/slot_pool.hpp"
#include "lib/http/client_attempt.hpp"
#include "lib/http/client_connection.hpp"

namespace svc::http::detail {

class OriginPools {
  struct Origin;

 public:
  OriginPools(std::size_t max_per_origin, std::size_t max_waiters) : max_per_origin_(max_per_origin), max_waiters_(max_waiters) {}

  // A slot of an origin held by one call, with its connection (none yet:
  // open one and adopt() it). Gives both back when destroyed.
  class Lease {
   public:
    Lease(OriginPools& pools, Origin& origin, ConnectionPtr conn) noexcept;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    ClientConnection* connection() const noexcept { return conn_.get(); }
    // The connection just opened in this slot.
    void adopt(ConnectionPtr conn);
    // Closes the connection (stale); the slot stays, for a new one.
    void drop();
    // The connection may carry another request: kept when the lease ends.
    void keep(bool reusable) noexcept { keep_ = reusable; }

   private:
    OriginPools* pools_;
    Origin* origin_;
    ConnectionPtr conn_;
    bool keep_ = false;
  };

  // Throws AttemptError(timeout) at the plan's deadline (or when too many
  // calls wait), ClientError(stopped) after close(), system_error(operation_aborted)
  // when the caller is cancelled.
  boost::asio::awaitable<Lease> acquire(const CallPlan& plan);
  // Takes out the connections idle since before `now - idle_timeout` (to be
  // closed by the caller) and returns when the next one will be due.
  Clock::time_point reap(Clock::time_point now, milliseconds idle_timeout, std::vector<ConnectionPtr>& doomed);
  // Refuses new calls, fails the waiters; returns the idle connections to close.
  std::vector<ConnectionPtr> close();
  std::size_t idle() const;

 private:
  struct Wakeup;
  using Slots = core::SlotPool<ConnectionPtr>;
  struct Origin {
    explicit Origin(Slots::Limits limits) : slots(limits) {}
    std::string key;
    Slots slots;
    std::unordered_map<Slots::WaiterId, std::shared_ptr<Wakeup>> wakeups;
  };
  void wake_locked(Origin& origin, const Slots::Wake& wake);
  void forget_if_unused_locked(Origin& origin);

  const std::size_t max_per_origin_;
  const std::size_t max_waiters_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Origin> origins_;  // element addresses are stable
  bool closed_ = false;
};

}  // namespace svc::http::detail

#include "lib/http/client_pool.hpp"

#include <algorithm>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>

#include "lib/core/with_timer.hpp"

namespace svc::http::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using core::nothrow;

// A caller queued for a full origin: woken through a thread-safe channel, so
// that its timer is only touched by its owner.
struct OriginPools::Wakeup {
  explicit Wakeup(const asio::any_io_executor& ex) : ready(ex, 1) {}
  asio::experimental::concurrent_channel<void(error_code)> ready;
};

// ---------------------------------------------------------------- Lease

OriginPools::Lease::Lease(OriginPools& pools, Origin& origin, ConnectionPtr conn) noexcept
    : pools_(&pools), origin_(&origin), conn_(std::move(conn)) {}

OriginPools::Lease::Lease(Lease&& other) noexcept
    : pools_(std::exchange(other.pools_, nullptr)), origin_(other.origin_), conn_(std::move(other.conn_)),
      keep_(other.keep_) {}

void OriginPools::Lease::adopt(ConnectionPtr conn) {
  std::lock_guard lock(pools_->mutex_);
  origin_->slots.opened();
  conn_ = std::move(conn);
}

void OriginPools::Lease::drop() {
  conn_.reset();
  std::lock_guard lock(pools_->mutex_);
  origin_->slots.reopen();
}

OriginPools::Lease::~Lease() {
  if (pools_ == nullptr) return;
  std::optional<ConnectionPtr> doomed;
  {
    std::lock_guard lock(pools_->mutex_);
    Slots::Wake wake;
    if (!conn_) {
      origin_->slots.open_failed({}, wake);  // the slot was ours to open: free for the next caller
    } else {
      if (keep_) conn_->reused = true;
      doomed = origin_->slots.give_back(std::move(conn_), keep_, Clock::now(), wake);
    }
    pools_->wake_locked(*origin_, wake);
    pools_->forget_if_unused_locked(*origin_);
  }
  // `doomed` closes its socket here, outside the mutex.
}

// ---------------------------------------------------------------- OriginPools

void OriginPools::wake_locked(Origin& origin, const Slots::Wake& wake) {
  for (const auto id : wake) {
    auto it = origin.wakeups.find(id);
    if (it != origin.wakeups.end()) it->second->ready.try_send(error_code{});
  }
}

void OriginPools::forget_if_unused_locked(Origin& origin) {
  const auto c = origin.slots.counts();
  if (c.open == 0 && c.opening == 0 && c.waiting == 0) origins_.erase(origin.key);
}

asio::awaitable<OriginPools::Lease> OriginPools::acquire(const CallPlan& plan) {
  Origin* origin = nullptr;
  Slots::Grant grant;
  std::shared_ptr<Wakeup> wakeup;
  {
    std::lock_guard lock(mutex_);
    if (closed_) throw ClientError(ClientPhase::stopped, "stopped: the HTTP client is stopping");
    auto [it, inserted] = origins_.try_emplace(plan.origin_key, Slots::Limits{max_per_origin_, 0, max_waiters_});
    origin = &it->second;
    if (inserted) origin->key = plan.origin_key;
    grant = origin->slots.acquire();
    if (grant.kind == Slots::Grant::Kind::wait) {
      wakeup = std::make_shared<Wakeup>(plan.executor);
      origin->wakeups.emplace(grant.waiter, wakeup);
    }
  }
  using G = Slots::Grant::Kind;
  if (grant.kind == G::idle) co_return Lease(*this, *origin, std::move(grant.conn));
  if (grant.kind == G::open) co_return Lease(*this, *origin, nullptr);
  if (grant.kind == G::closed) throw ClientError(ClientPhase::stopped, "stopped: the HTTP client is stopping");
  if (grant.kind == G::crowded)
    throw AttemptError(ClientPhase::timeout,
                       "timeout: " + std::to_string(max_waiters_) + " calls already wait for a connection to " +
                           plan.url.authority,
                       false);

  const auto budget = plan.budget("wait for a pooled connection", milliseconds(0));
  bool cancelled = false;
  try {
    asio::steady_timer timer(plan.executor, budget.at);
    auto [ec] = co_await core::with_timer(wakeup->ready.async_receive(nothrow), timer);
    cancelled = ec == asio::error::operation_aborted;  // timed_out is the deadline, settled below
  } catch (const boost::system::system_error&) {
    cancelled = true;  // Asio refuses to start a wait once we are cancelled
  }
  Slots::Outcome outcome;
  {
    std::lock_guard lock(mutex_);
    origin->wakeups.erase(grant.waiter);
    Slots::Wake wake;
    outcome = origin->slots.finish_wait(grant.waiter, cancelled, wake);
    wake_locked(*origin, wake);
    if (outcome.kind != Slots::Outcome::Kind::conn && outcome.kind != Slots::Outcome::Kind::open)
      forget_if_unused_locked(*origin);
  }
  using O = Slots::Outcome::Kind;
  switch (outcome.kind) {
    case O::conn: co_return Lease(*this, *origin, std::move(outcome.conn));
    case O::open: co_return Lease(*this, *origin, nullptr);
    case O::cancelled: throw_cancelled();
    case O::closed: throw ClientError(ClientPhase::stopped, "stopped: the HTTP client is stopping");
    case O::timed_out: break;
  }
  throw AttemptError(ClientPhase::timeout,
                     budget.expired().what() + std::string(" (") + std::to_string(max_per_origin_) +
                         " connections to " + plan.url.authority + " busy)",
                     false);
}

Clock::time_point OriginPools::reap(Clock::time_point now, milliseconds idle_timeout, std::vector<ConnectionPtr>& doomed) {
  auto next = now + idle_timeout;
  std::lock_guard lock(mutex_);
  for (auto it = origins_.begin(); it != origins_.end();) {
    Origin& o = it->second;
    Slots::Wake wake;
    auto old = o.slots.take_idle_if(
        [&](const ConnectionPtr&, Clock::time_point since) {
          if (since + idle_timeout <= now) return true;
          next = std::min(next, since + idle_timeout);
          return false;
        },
        wake);
    for (auto& c : old) doomed.push_back(std::move(c));
    wake_locked(o, wake);
    const auto c = o.slots.counts();
    it = c.open == 0 && c.opening == 0 && c.waiting == 0 ? origins_.erase(it) : std::next(it);
  }
  return next;
}

std::vector<ConnectionPtr> OriginPools::close() {
  std::vector<ConnectionPtr> out;
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto it = origins_.begin(); it != origins_.end();) {
    Origin& o = it->second;
    Slots::Wake wake;
    for (auto& c : o.slots.close(wake)) out.push_back(std::move(c));
    wake_locked(o, wake);
    const auto c = o.slots.counts();
    it = c.open == 0 && c.opening == 0 && c.waiting == 0 ? origins_.erase(it) : std::next(it);
  }
  return out;
}

std::size_t OriginPools::idle() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, o] : origins_) n += o.slots.counts().idle;
  return n;
}

}  // namespace svc::http::detail

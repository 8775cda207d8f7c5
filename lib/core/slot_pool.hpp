#pragma once
// The bookkeeping of a pool of reusable connections, free of I/O and of
// threads: which idle connection a caller gets (the most recently used: the
// least likely to be stale), who waits (first come, first served, at most
// max_waiters), how many may be open (size + max_overflow, and closed again
// beyond size once idle), and what each waiter was handed when it wakes.
// Boost.MySQL's connection_pool keeps its node state machine apart from its
// sockets the same way, and tests it without a server.
//
// The owner (pg::Pool, the HTTP client's per-origin pool) keeps it behind
// its mutex, does the I/O (connect, ping, close) outside that mutex, and
// wakes the waiters it is told to. A slot is one connection the pool counts:
// idle, lent to a caller, being opened by a caller, or reserved by the owner
// for something else (pg's pipelined connections).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace svc::core {

template <class Conn>
class SlotPool {
 public:
  using Clock = std::chrono::steady_clock;
  using WaiterId = std::uint64_t;
  using Wake = std::vector<WaiterId>;  // waiters the owner must wake now

  struct Limits {
    std::size_t size = 1;          // kept open when idle
    std::size_t max_overflow = 0;  // more under burst, closed once idle
    std::size_t max_waiters = std::numeric_limits<std::size_t>::max();
  };

  // What acquire() decides, at once.
  struct Grant {
    enum class Kind : std::uint8_t {
      idle,     // `conn`, idle since `idle_since`
      open,     // a slot is the caller's: it opens a connection, then opened() or open_failed()
      wait,     // queued as `waiter`: sleep until woken or the deadline, then finish_wait()
      closed,   // the pool is closed
      crowded,  // max_waiters are queued already
    } kind = Kind::closed;
    Conn conn{};
    Clock::time_point idle_since{};
    WaiterId waiter = 0;
  };
  static Grant grant(typename Grant::Kind kind, Conn conn = {}, Clock::time_point since = {}, WaiterId waiter = 0) {
    Grant g;
    g.kind = kind;
    g.conn = std::move(conn);
    g.idle_since = since;
    g.waiter = waiter;
    return g;
  }

  // What a waiter has when its wait ends (woken, its deadline, cancelled).
  struct Outcome {
    enum class Kind : std::uint8_t {
      conn,       // `conn`; `just_used`: handed over straight from its last user
      open,       // a slot: open a connection, then opened() or open_failed()
      timed_out,  // nothing came; `last_error`: the last failed open, if any
      cancelled,  // the caller left; whatever it was handed went back
      closed,
    } kind = Kind::closed;
    Conn conn{};
    bool just_used = false;
    std::string last_error;
  };
  static Outcome outcome(typename Outcome::Kind kind, Conn conn = {}, bool just_used = false, std::string error = {}) {
    Outcome o;
    o.kind = kind;
    o.conn = std::move(conn);
    o.just_used = just_used;
    o.last_error = std::move(error);
    return o;
  }

  explicit SlotPool(Limits limits) : limits_(limits) {}

  Grant acquire() {
    return acquire([](const Conn&) { return true; }, 1);
  }
  // The same, preferring among the `scan` most recently used idle
  // connections one that `prefer` picks (e.g. one already on the caller's
  // event loop); else the most recently used.
  template <class Prefer>
  Grant acquire(Prefer prefer, std::size_t scan) {
    if (closed_) return grant(Grant::Kind::closed);
    if (queue_.empty() && !idle_.empty()) {
      auto pick = std::prev(idle_.end());
      std::size_t looked = 0;
      for (auto it = idle_.rbegin(); it != idle_.rend() && looked < scan; ++it, ++looked) {
        if (prefer(it->conn)) {
          pick = std::prev(it.base());
          break;
        }
      }
      Idle taken = std::move(*pick);
      idle_.erase(pick);
      ++lent_;
      return grant(Grant::Kind::idle, std::move(taken.conn), taken.since);
    }
    if (queue_.empty() && slots() < max_open()) {
      ++opening_;
      return grant(Grant::Kind::open);
    }
    if (queue_.size() >= limits_.max_waiters) return grant(Grant::Kind::crowded);
    const WaiterId id = ++next_waiter_;
    queue_.push_back(id);
    waiters_.emplace(id, Waiting{});
    return grant(Grant::Kind::wait, {}, {}, id);
  }

  // The end of a wait: `cancelled` if the caller left (then anything it was
  // handed goes to the next waiter, or back to the pool).
  Outcome finish_wait(WaiterId id, bool cancelled, Wake& wake) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return outcome(Outcome::Kind::closed);
    Waiting w = std::move(it->second);
    waiters_.erase(it);
    if (w.state == Waiting::State::queued) {
      std::erase(queue_, id);
      if (closed_) return outcome(Outcome::Kind::closed);
      if (cancelled) return outcome(Outcome::Kind::cancelled);
      return outcome(Outcome::Kind::timed_out, {}, false, last_error_);
    }
    if (w.state == Waiting::State::closed) return outcome(Outcome::Kind::closed);
    if (cancelled) {
      if (w.state == Waiting::State::handed_conn) {
        --lent_;  // back as if returned unused: still fresh
        place(std::move(*w.conn), w.since, wake);
      } else {
        --opening_;
        slot_freed(wake);
      }
      return outcome(Outcome::Kind::cancelled);
    }
    if (w.state == Waiting::State::handed_conn) return outcome(Outcome::Kind::conn, std::move(*w.conn), true);
    return outcome(Outcome::Kind::open);
  }

  // The caller's open succeeded: the connection is lent to it.
  void opened() {
    --opening_;
    ++lent_;
    last_error_.clear();
  }
  // The caller's open failed: the slot is free (the next waiter may try).
  void open_failed(std::string error, Wake& wake) {
    --opening_;
    last_error_ = std::move(error);
    slot_freed(wake);
  }

  // A lent connection was closed by its user, who opens another in the
  // same slot (a stale keep-alive connection, say).
  void reopen() {
    --lent_;
    ++opening_;
  }

  // A lent connection comes back. Reusable: to the oldest waiter, or idle
  // (unless the pool is above its size: then it is returned to be closed).
  // Not reusable: returned to be closed, and its slot goes to the next waiter.
  std::optional<Conn> give_back(Conn conn, bool reusable, Clock::time_point now, Wake& wake) {
    --lent_;
    if (!reusable || closed_) {
      slot_freed(wake);
      return conn;
    }
    return place(std::move(conn), now, wake);
  }

  // A slot for the owner's own use (no waiter, no connection kept here), if
  // one is free and at most `budget` are reserved already.
  bool reserve(std::size_t budget) {
    if (closed_ || !queue_.empty() || reserved_ >= budget || slots() >= max_open()) return false;
    ++reserved_;
    return true;
  }
  void unreserve(Wake& wake) {
    --reserved_;
    slot_freed(wake);
  }

  // Removes the idle connections `pred` picks (broken, too old) and returns
  // them to be closed; their slots go to waiters.
  template <class Pred>
  std::vector<Conn> take_idle_if(Pred pred, Wake& wake) {
    std::vector<Conn> out;
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (!pred(it->conn, it->since)) {
        ++it;
        continue;
      }
      out.push_back(std::move(it->conn));
      it = idle_.erase(it);
      slot_freed(wake);
    }
    return out;
  }

  // Refuses everything from now on: the idle connections are returned to be
  // closed and every waiter is to be woken (its outcome: closed).
  std::vector<Conn> close(Wake& wake) {
    closed_ = true;
    std::vector<Conn> out;
    for (auto& i : idle_) out.push_back(std::move(i.conn));
    idle_.clear();
    for (const auto id : queue_) {
      waiters_.at(id).state = Waiting::State::closed;
      wake.push_back(id);
    }
    queue_.clear();
    return out;
  }

  struct Counts {
    std::size_t open = 0;      // idle + lent + reserved (connections that exist)
    std::size_t idle = 0;
    std::size_t lent = 0;      // in callers' hands
    std::size_t opening = 0;   // slots whose connection is being opened
    std::size_t reserved = 0;  // the owner's
    std::size_t waiting = 0;
    std::size_t max = 0;       // size + max_overflow
  };
  Counts counts() const noexcept {
    return {idle_.size() + lent_ + reserved_, idle_.size(), lent_, opening_, reserved_, queue_.size(), max_open()};
  }
  bool closed() const noexcept { return closed_; }
  const std::string& last_error() const noexcept { return last_error_; }
  const Limits& limits() const noexcept { return limits_; }

 private:
  struct Idle {
    Conn conn;
    Clock::time_point since;
  };
  struct Waiting {
    enum class State { queued, handed_conn, handed_slot, closed } state = State::queued;
    std::optional<Conn> conn;
    Clock::time_point since{};
  };

  std::size_t max_open() const noexcept { return limits_.size + limits_.max_overflow; }
  std::size_t slots() const noexcept { return idle_.size() + lent_ + opening_ + reserved_; }

  // A reusable connection with nobody holding it: to the oldest waiter, else
  // idle, else (above size) back to the caller to close.
  std::optional<Conn> place(Conn conn, Clock::time_point since, Wake& wake) {
    if (closed_) {
      slot_freed(wake);
      return conn;
    }
    if (!queue_.empty()) {
      const WaiterId id = queue_.front();
      queue_.pop_front();
      auto& w = waiters_.at(id);
      w.state = Waiting::State::handed_conn;
      w.conn.emplace(std::move(conn));
      w.since = since;
      ++lent_;
      wake.push_back(id);
      return std::nullopt;
    }
    if (slots() + 1 > limits_.size) {  // overflow exists for bursts only: closed once idle
      slot_freed(wake);
      return conn;
    }
    idle_.push_back(Idle{std::move(conn), since});
    return std::nullopt;
  }

  // A slot became free: the oldest waiter may open a connection of its own.
  void slot_freed(Wake& wake) {
    if (closed_ || queue_.empty() || slots() >= max_open()) return;
    const WaiterId id = queue_.front();
    queue_.pop_front();
    waiters_.at(id).state = Waiting::State::handed_slot;
    ++opening_;
    wake.push_back(id);
  }

  Limits limits_;
  std::deque<Idle> idle_;  // most recently used at the back
  std::deque<WaiterId> queue_;
  std::unordered_map<WaiterId, Waiting> waiters_;
  std::size_t lent_ = 0;
  std::size_t opening_ = 0;
  std::size_t reserved_ = 0;
  WaiterId next_waiter_ = 0;
  bool closed_ = false;
  std::string last_error_;
};

}  // namespace svc::core

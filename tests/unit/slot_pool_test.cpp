// The pool core's bookkeeping without sockets: a "connection" is an int.
#include "lib/core/slot_pool.hpp"

#include <doctest/doctest.h>

#include <string>

using Pool = svc::core::SlotPool<int>;
using Kind = Pool::Grant::Kind;
using Out = Pool::Outcome::Kind;
using Clock = Pool::Clock;

namespace {

Pool::Limits limits(std::size_t size, std::size_t overflow, std::size_t max_waiters = 100) {
  return {size, overflow, max_waiters};
}

// Opens a connection numbered `n` for a fresh slot.
int open_one(Pool& p, int n) {
  auto g = p.acquire();
  REQUIRE(g.kind == Kind::open);
  p.opened();
  return n;
}

}  // namespace

TEST_SUITE("slot_pool") {
  TEST_CASE("slots up to size + overflow, then callers wait; the most recently used idle one is handed out") {
    Pool p(limits(1, 1));
    Pool::Wake wake;
    const int a = open_one(p, 1);
    const int b = open_one(p, 2);
    auto third = p.acquire();
    CHECK(third.kind == Kind::wait);
    CHECK(p.counts().waiting == 1);
    // b comes back reusable: it goes to the waiter, not to idle.
    CHECK_FALSE(p.give_back(b, true, Clock::now(), wake).has_value());
    REQUIRE(wake.size() == 1);
    CHECK(wake[0] == third.waiter);
    auto got = p.finish_wait(third.waiter, false, wake);
    CHECK(got.kind == Out::conn);
    CHECK(got.conn == 2);
    CHECK(got.just_used);  // straight from its last user: no pre-ping needed
    // Both back: while two are open (above size 1) the first back is closed
    // (overflow shrinks), the last one is kept.
    wake.clear();
    auto closed = p.give_back(a, true, Clock::now(), wake);
    REQUIRE(closed.has_value());
    CHECK(*closed == 1);
    CHECK_FALSE(p.give_back(got.conn, true, Clock::now(), wake).has_value());
    CHECK(p.counts().open == 1);
    CHECK(p.counts().idle == 1);
    auto again = p.acquire();
    CHECK(again.kind == Kind::idle);
    CHECK(again.conn == 2);
  }

  TEST_CASE("waiters are served first come, first served") {
    Pool p(limits(1, 0));
    Pool::Wake wake;
    const int c = open_one(p, 7);
    std::vector<Pool::WaiterId> queued;
    for (int i = 0; i < 4; ++i) queued.push_back(p.acquire().waiter);
    int conn = c;
    for (int i = 0; i < 4; ++i) {
      wake.clear();
      p.give_back(conn, true, Clock::now(), wake);
      REQUIRE(wake.size() == 1);
      CHECK(wake[0] == queued[static_cast<std::size_t>(i)]);
      auto o = p.finish_wait(wake[0], false, wake);
      REQUIRE(o.kind == Out::conn);
      conn = o.conn;
    }
  }

  TEST_CASE("a wait that ends unwoken is a timeout carrying the last connect error") {
    Pool p(limits(1, 0));
    Pool::Wake wake;
    auto first = p.acquire();
    REQUIRE(first.kind == Kind::open);
    auto waiting = p.acquire();
    REQUIRE(waiting.kind == Kind::wait);
    // The open fails: its slot goes to the waiter, which opens in turn and fails too.
    p.open_failed("connection refused", wake);
    REQUIRE(wake == Pool::Wake{waiting.waiter});
    auto turn = p.finish_wait(waiting.waiter, false, wake);
    REQUIRE(turn.kind == Out::open);
    p.open_failed("connection refused (again)", wake);
    // Someone waits now, nothing frees a slot: its deadline ends the wait.
    auto a = p.acquire();
    REQUIRE(a.kind == Kind::open);
    auto late = p.acquire();
    REQUIRE(late.kind == Kind::wait);
    auto timed_out = p.finish_wait(late.waiter, false, wake);
    CHECK(timed_out.kind == Out::timed_out);
    CHECK(timed_out.last_error == "connection refused (again)");
    CHECK(p.counts().waiting == 0);
  }

  TEST_CASE("cancellation in every state gives back what the waiter held") {
    Pool::Wake wake;
    SUBCASE("queued: it just leaves") {
      Pool p(limits(1, 0));
      const int c = open_one(p, 1);
      auto w = p.acquire();
      CHECK(p.finish_wait(w.waiter, true, wake).kind == Out::cancelled);
      CHECK(p.counts().waiting == 0);
      CHECK_FALSE(p.give_back(c, true, Clock::now(), wake).has_value());
      CHECK(p.counts().idle == 1);
    }
    SUBCASE("handed a connection: it goes to the next waiter") {
      Pool p(limits(1, 0));
      const int c = open_one(p, 1);
      auto w1 = p.acquire();
      auto w2 = p.acquire();
      p.give_back(c, true, Clock::now(), wake);
      REQUIRE(wake == Pool::Wake{w1.waiter});
      wake.clear();
      CHECK(p.finish_wait(w1.waiter, true, wake).kind == Out::cancelled);
      REQUIRE(wake == Pool::Wake{w2.waiter});
      auto o = p.finish_wait(w2.waiter, false, wake);
      CHECK(o.kind == Out::conn);
      CHECK(o.conn == 1);
      CHECK(p.counts().lent == 1);
    }
    SUBCASE("handed a slot: the slot goes to the next waiter") {
      Pool p(limits(1, 0));
      const int c = open_one(p, 1);
      auto w1 = p.acquire();
      auto w2 = p.acquire();
      auto broken = p.give_back(c, false, Clock::now(), wake);  // not reusable: its slot is freed
      CHECK(broken.has_value());
      REQUIRE(wake == Pool::Wake{w1.waiter});
      wake.clear();
      CHECK(p.finish_wait(w1.waiter, true, wake).kind == Out::cancelled);
      REQUIRE(wake == Pool::Wake{w2.waiter});
      CHECK(p.finish_wait(w2.waiter, false, wake).kind == Out::open);
      CHECK(p.counts().opening == 1);
    }
    SUBCASE("after close: closed, and nothing leaks") {
      Pool p(limits(1, 0));
      const int c = open_one(p, 1);
      auto w = p.acquire();
      auto idle = p.close(wake);
      CHECK(idle.empty());
      REQUIRE(wake == Pool::Wake{w.waiter});
      CHECK(p.finish_wait(w.waiter, true, wake).kind == Out::closed);
      CHECK(p.give_back(c, true, Clock::now(), wake).has_value());  // closed: to be closed
      CHECK(p.counts().open == 0);
    }
  }

  TEST_CASE("a broken connection is replaced: its slot goes to a waiter, who opens a new one") {
    Pool p(limits(1, 0));
    Pool::Wake wake;
    const int c = open_one(p, 1);
    auto w = p.acquire();
    auto doomed = p.give_back(c, false, Clock::now(), wake);
    REQUIRE(doomed.has_value());
    CHECK(*doomed == 1);
    REQUIRE(wake == Pool::Wake{w.waiter});
    CHECK(p.finish_wait(w.waiter, false, wake).kind == Out::open);
    p.opened();
    CHECK(p.counts().lent == 1);
    CHECK(p.counts().open == 1);
  }

  TEST_CASE("at most max_waiters wait; the next is refused at once") {
    Pool p(limits(1, 0, 2));
    open_one(p, 1);
    CHECK(p.acquire().kind == Kind::wait);
    CHECK(p.acquire().kind == Kind::wait);
    CHECK(p.acquire().kind == Kind::crowded);
  }

  TEST_CASE("reserved slots count against the limit, not while someone waits, and free a slot when released") {
    Pool p(limits(2, 0));
    Pool::Wake wake;
    CHECK(p.reserve(1));
    CHECK_FALSE(p.reserve(1));  // the budget
    const int c = open_one(p, 1);
    CHECK(p.acquire().kind == Kind::wait);  // 2 slots taken: reserved + lent
    CHECK_FALSE(p.reserve(2));              // a waiter comes first
    p.unreserve(wake);
    REQUIRE(wake.size() == 1);
    CHECK(p.finish_wait(wake[0], false, wake).kind == Out::open);
    (void)c;
  }

  TEST_CASE("idle connections picked out are closed and their slots freed; a preferred idle one is found") {
    Pool p(limits(3, 0));
    Pool::Wake wake;
    for (int i = 1; i <= 3; ++i) open_one(p, i);
    for (int i = 1; i <= 3; ++i) p.give_back(i, true, Clock::now(), wake);
    auto two = p.acquire([](const int& c) { return c == 2; }, 8);
    CHECK(two.kind == Kind::idle);
    CHECK(two.conn == 2);
    auto gone = p.take_idle_if([](const int& c, Clock::time_point) { return c == 1; }, wake);
    CHECK(gone == std::vector<int>{1});
    CHECK(p.counts().open == 2);
    CHECK(p.counts().idle == 1);
  }

  TEST_CASE("close hands back the idle connections and refuses new callers") {
    Pool p(limits(2, 0));
    Pool::Wake wake;
    open_one(p, 1);
    p.give_back(1, true, Clock::now(), wake);
    auto idle = p.close(wake);
    CHECK(idle == std::vector<int>{1});
    CHECK(p.acquire().kind == Kind::closed);
    CHECK_FALSE(p.reserve(5));
  }
}

// e2e: rollouts as Kubernetes runs them, on loopback. Replicas of the real
// binary share one test database behind ServiceFront (kube-proxy plus the
// endpoints controller: new connections go only to replicas whose /readyz
// passed at the last probe, one probe a second). A few client threads keep a
// bounded load on the front while one replica gets SIGTERM, then while both
// are replaced one at a time. Pass: no request failed at the client, every
// replica stopped exited 0 within drain + grace, the others kept serving.
//
// Timings. The front stops sending new connections to a replica up to one
// probe period (1 s) after its /readyz turned 503; the replica keeps
// accepting and serving for SHUTDOWN_DRAIN_SECONDS after SIGTERM, so the
// drain (2 s) must exceed the probe period, or new connections would meet a
// closed listener. deploy/k8s/deployment.yaml keeps the same relation with
// the kubelet's probe period and the endpoint propagation delay.
//
// The load client behaves like a proper HTTP/1.1 client (Go's net/http,
// urllib3, curl): keep-alive, and one retry of an idempotent GET, on a new
// connection, when a connection it had already used was closed before any
// byte of the response arrived. That is the keep-alive race every server
// has: stop() closes idle connections, and a request the client sent at
// that instant was never read, so nothing was done. Everything else counts
// as a failure: a refused connection, a fresh connection closed, a timeout,
// a partial response, any status but 200.

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/raw_http.hpp"
#include "tests/support/service.hpp"
#include "tests/support/service_front.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kDrain = 2s;
constexpr auto kGrace = 3s;

Env replica_env() {
  return {{"SHUTDOWN_DRAIN_SECONDS", std::to_string(kDrain.count())},
          {"SHUTDOWN_GRACE_SECONDS", std::to_string(kGrace.count())},
          {"THREADS", "1"},
          {"LOG_LEVEL", "info"}};
}

// Client threads on keep-alive connections to the front: GET / and
// GET /api/v1/offers?limit=5 in turn, paced, bounded in count; stop() ends
// them. Each thread keeps its connections for a different number of
// requests: one per connection (a new connection every few milliseconds, so
// some reach a draining replica before the front notices), a few, many, and
// one connection for as long as it lasts (idle when stop() closes it).
class Load {
 public:
  static constexpr int kRequestsPerConnection[] = {1, 20, 500, 0};  // 0: no limit
  static constexpr int kMaxRequestsPerThread = 20000;
  static constexpr auto kPace = 2ms;

  Load(int port, std::string api_key) : port_(port), api_key_(std::move(api_key)) {
    for (int per_connection : kRequestsPerConnection)
      threads_.emplace_back([this, per_connection] { run(per_connection); });
  }
  ~Load() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::size_t ok() const { return ok_.load(); }
  std::size_t retried() const { return retried_.load(); }
  std::vector<std::string> failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  // Polls until `count` requests have succeeded in all; false at the deadline.
  bool wait_ok(std::size_t count, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    while (ok() < count) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

 private:
  void fail(std::string what) {
    std::lock_guard lock(mutex_);
    if (failures_.size() < 20) failures_.push_back(std::move(what));
  }

  void run(int per_connection) {
    std::unique_ptr<RawConnection> conn;
    bool reused = false;  // conn has carried a response already
    for (int n = 0; !stop_ && n < kMaxRequestsPerThread; ++n) {
      const bool last_on_connection = per_connection > 0 && n % per_connection == per_connection - 1;
      std::string request = std::string("GET ") + (n % 2 == 0 ? "/" : "/api/v1/offers?limit=5") +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + api_key_ + "\r\n" +
                            (last_on_connection ? "Connection: close\r\n" : "") + "\r\n";
      send_with_retry(conn, reused, request);
      if (last_on_connection) conn.reset();
      std::this_thread::sleep_for(kPace);
    }
  }

  void send_with_retry(std::unique_ptr<RawConnection>& conn, bool& reused, const std::string& request) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!conn) {
        try {
          conn = std::make_unique<RawConnection>(port_);
        } catch (const std::exception& e) {
          fail(std::string("connect: ") + e.what());
          return;
        }
        reused = false;
      }
      const bool sent = conn->send(request);
      auto response = sent ? conn->read_response(5s) : std::nullopt;
      if (response) {
        reused = true;
        if (response->status == 200) {
          ++ok_;
        } else {
          fail("status " + std::to_string(response->status) + ": " + response->body);
        }
        if (response->header("connection") == "close") conn.reset();
        return;
      }
      const bool nothing_came = conn->peer_closed() && conn->unread().empty();
      const bool retry = attempt == 0 && reused && nothing_came;
      std::string why = !conn->peer_closed()  ? "timed out"
                        : nothing_came        ? "closed before any byte of the response"
                                              : "closed in the middle of the response";
      conn.reset();
      if (retry) {
        ++retried_;
        continue;
      }
      fail(std::string(reused ? "kept-alive" : "new") + " connection " + why + " (attempt " +
           std::to_string(attempt + 1) + ")");
      return;
    }
  }

  int port_;
  std::string api_key_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> ok_{0};
  std::atomic<std::size_t> retried_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;  // last: they use everything above
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// SIGTERM to `replica` as the kubelet sends it, and what must follow: the
// front sees it not ready inside the drain window, no new connection goes to
// it after that, and it exits 0 within drain + grace.
void terminate_replica(ServiceFront& front, RunningService& replica) {
  const auto t0 = Clock::now();
  long long noticed_ms = -1;
  {
    INFO("replica output:\n", replica.output());  // printed only if a check fails
    replica.signal(SIGTERM);
    REQUIRE(front.wait_not_ready(replica.port(), kDrain));
    noticed_ms = ms_since(t0);
    const auto connections = front.connections_to(replica.port());
    CHECK(noticed_ms < std::chrono::milliseconds(kDrain).count());

    const auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(kDrain + kGrace) -
                        std::chrono::milliseconds(ms_since(t0));
    CHECK(replica.wait_exit(budget) == 0);
    CHECK(front.connections_to(replica.port()) == connections);
    CHECK(contains(replica.output(), "drain window over"));
  }
  MESSAGE("replica :", replica.port(), ": the front saw it not ready ", noticed_ms, " ms after SIGTERM; it exited ",
          ms_since(t0), " ms after SIGTERM");
}

}  // namespace

TEST_CASE("rollout: SIGTERM to one of two replicas under load fails no request; the other serves on") {
  const std::string api_key = base_service_env().at("API_KEY");
  ServiceFront front;
  RunningService a(p2p_binary(), replica_env());
  RunningService b(p2p_binary(), replica_env());
  front.add(a.port());
  front.add(b.port());
  REQUIRE(front.wait_ready(a.port(), 5s));
  REQUIRE(front.wait_ready(b.port(), 5s));

  Load load(front.port(), api_key);
  REQUIRE(load.wait_ok(200, 10s));
  REQUIRE(front.connections_to(a.port()) > 0);
  REQUIRE(front.connections_to(b.port()) > 0);

  terminate_replica(front, a);

  const auto b_connections = front.connections_to(b.port());
  const auto ok_when_a_left = load.ok();
  CHECK(load.wait_ok(ok_when_a_left + 200, 10s));
  CHECK(front.connections_to(b.port()) > b_connections);
  load.stop();

  MESSAGE(load.ok(), " requests answered, ", load.retried(), " retried after a kept-alive connection closed");
  CHECK_MESSAGE(load.failures().empty(), "failed requests:\n", joined(load.failures()));
  CHECK(front.refused() == 0);
}

TEST_CASE("rollout: a rolling restart of two replicas, one at a time, fails no request") {
  const std::string api_key = base_service_env().at("API_KEY");
  ServiceFront front;
  std::vector<std::unique_ptr<RunningService>> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.push_back(std::make_unique<RunningService>(p2p_binary(), replica_env()));
    front.add(replicas.back()->port());
    REQUIRE(front.wait_ready(replicas.back()->port(), 5s));
  }

  Load load(front.port(), api_key);
  REQUIRE(load.wait_ok(200, 10s));

  // maxSurge 1, maxUnavailable 0: the new replica is ready before an old one goes.
  for (int step = 0; step < 2; ++step) {
    auto fresh = std::make_unique<RunningService>(p2p_binary(), replica_env());
    front.add(fresh->port());
    REQUIRE(front.wait_ready(fresh->port(), 5s));
    terminate_replica(front, *replicas.front());
    front.remove(replicas.front()->port());
    replicas.erase(replicas.begin());
    replicas.push_back(std::move(fresh));
    const auto ok_now = load.ok();
    CHECK(load.wait_ok(ok_now + 200, 10s));
  }
  load.stop();

  for (const auto& r : replicas) CHECK(front.connections_to(r->port()) > 0);
  MESSAGE(load.ok(), " requests answered, ", load.retried(), " retried after a kept-alive connection closed");
  CHECK_MESSAGE(load.failures().empty(), "failed requests:\n", joined(load.failures()));
  CHECK(front.refused() == 0);
}

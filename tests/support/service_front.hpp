#pragma once
// A Kubernetes Service in miniature, on 127.0.0.1, for rollout tests: what
// kube-proxy and the endpoints controller do for a Deployment's pods.
//
// - Endpoints: replicas are added by port (a pod created) and removed (a pod
//   deleted). A replica receives new connections only while the front's last
//   readiness probe of it passed: GET /readyz every probe period, 200 within
//   the probe timeout (failureThreshold = successThreshold = 1). A new
//   replica is not ready until its first probe passes.
// - Proxying: layer 4, like kube-proxy. Each new client connection is bound
//   to the next ready replica, round robin, for its whole life; connections
//   already open keep going when the replica turns not ready (kube-proxy
//   does not cut them either). With no ready replica the connection is closed
//   at once (kube-proxy rejects).
//
// So a draining replica stops getting new connections up to one probe period
// after its /readyz turns 503, never before: its drain window must be longer
// than that (tests/e2e/rollout_test.cpp). POSIX sockets and threads only.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/support/tcp_relay.hpp"

namespace testsupport {

class ServiceFront {
 public:
  explicit ServiceFront(std::chrono::milliseconds probe_period = std::chrono::seconds(1),
                        std::chrono::milliseconds probe_timeout = std::chrono::seconds(1));
  ~ServiceFront();  // stops probing, closes every connection
  ServiceFront(const ServiceFront&) = delete;
  ServiceFront& operator=(const ServiceFront&) = delete;

  int port() const noexcept { return relay_.port(); }
  std::chrono::milliseconds probe_period() const noexcept { return period_; }

  void add(int replica_port);
  void remove(int replica_port);
  // Until the front has seen the replica's readiness as `ready`; false at the deadline.
  bool wait_ready(int replica_port, std::chrono::milliseconds timeout);
  bool wait_not_ready(int replica_port, std::chrono::milliseconds timeout);
  // New connections the front has bound to the replica so far.
  std::size_t connections_to(int replica_port) const;
  // Client connections closed at once: no ready replica, or the one picked refused.
  std::size_t refused() const noexcept { return relay_.refused(); }

 private:
  struct Replica {
    bool ready = false;
    std::size_t connections = 0;
  };
  std::optional<int> pick();
  bool wait_state(int replica_port, bool ready, std::chrono::milliseconds timeout);
  void probe_loop();

  std::chrono::milliseconds period_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // readiness changed, or stopping
  std::map<int, Replica> replicas_;  // by port
  std::size_t next_ = 0;             // round robin over the ready ones
  bool stopping_ = false;
  TcpRelay relay_;      // after the state pick() reads
  std::thread prober_;  // last: starts after everything it uses
};

}  // namespace testsupport

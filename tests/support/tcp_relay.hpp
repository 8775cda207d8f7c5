#pragma once
// A TCP relay on 127.0.0.1 between the service and its database, for tests
// of a database that stops answering without closing anything (a failover
// or a partition: no RST, no FIN). freeze() stops moving bytes in both
// directions and keeps every socket open; new connections are accepted
// (the kernel completes the handshake) but nothing reaches the database.
// resume() forwards everything held back. POSIX sockets and one thread; no
// Boost, so it shares no code with the service.
//
// The target may also be chosen per connection (ServiceFront uses that to
// balance over replicas, as kube-proxy does): a connection is bound to the
// target picked when it was accepted, for its whole life.

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace testsupport {

class TcpRelay {
 public:
  // Listens on a free 127.0.0.1 port and relays to 127.0.0.1:target_port.
  explicit TcpRelay(int target_port);
  // Asks `pick` (on the relay's thread) for the port of each new connection;
  // nullopt (no target) closes the client's connection at once.
  explicit TcpRelay(std::function<std::optional<int>()> pick);
  ~TcpRelay();  // closes every socket and joins its thread
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  int port() const noexcept { return port_; }
  void freeze();
  void resume();
  // Relayed connections open now (both ends).
  std::size_t connections() const;
  // Accepted connections that got no target, or whose target refused.
  std::size_t refused() const noexcept { return refused_.load(); }

 private:
  struct Pair {
    int client;
    int server;
  };
  void run();
  void wake();
  void close_pair(std::size_t i);

  std::function<std::optional<int>()> pick_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> refused_{0};
  mutable std::mutex mutex_;
  std::vector<Pair> pairs_;  // mutex_
  std::thread thread_;       // last: starts after the members it uses
};

}  // namespace testsupport

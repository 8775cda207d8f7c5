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
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
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
  // The first connection whose client has sent `marker` (its application_name
  // in the startup packet, say) and then sends bytes holding `needle` is held
  // from then on, alone: nothing moves on it either way and its sockets stay
  // open, as if that one connection hung. `forward`: the bytes holding the
  // needle reach the target first; otherwise they never do. Other connections,
  // new ones included, are relayed as before.
  void hold_on(std::string marker, std::string needle, bool forward);
  // True once that connection is held; waits up to `timeout` for it.
  bool wait_held(std::chrono::milliseconds timeout);
  // Relayed connections open now (both ends).
  std::size_t connections() const;
  // Accepted connections that got no target, or whose target refused.
  std::size_t refused() const noexcept { return refused_.load(); }

 private:
  struct Pair {
    int client;
    int server;
    bool marked = false;  // the client sent hold_marker_
    bool held = false;
  };
  void run();
  // The relay's thread, mutex_ held: whether these client bytes make `p` the held connection.
  bool hold_now(Pair& p, const char* data, std::size_t n);
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
  std::string hold_marker_, hold_needle_;  // mutex_; empty needle: nothing to hold
  bool hold_forward_ = false;             // mutex_
  bool held_ = false;                     // mutex_
  std::condition_variable held_changed_;
  std::thread thread_;       // last: starts after the members it uses
};

}  // namespace testsupport
